"""Inspection scores by township and by template item over time, and open findings per group."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.inspection_results import (
    insp_findings,
    insp_groups,
    insp_inspections,
    insp_item_results,
    insp_template_items,
)
from services.reporting.projections.rectifications import ledger_names

AWAITING_UNIT = ("assigned", "reopened")


def _rate(passed: int, failed: int) -> float | None:
    return round(passed / (passed + failed), 4) if passed + failed else None


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


async def _names(conn: AsyncConnection) -> dict[str, str]:
    return {r.code: r.name for r in await conn.execute(select(ledger_names.c.code, ledger_names.c.name))}


async def township_scores(
    conn: AsyncConnection, *, template_id: str | None, since: date | None, until: date | None
) -> list[dict[str, Any]]:
    """Each township's completed inspections in date order with their scores, and monthly averages."""
    joined = insp_inspections.outerjoin(insp_groups, insp_groups.c.group_id == insp_inspections.c.group_id)
    query = (select(insp_inspections, insp_groups.c.name.label("group_name"))
             .select_from(joined)
             .where(insp_inspections.c.status == "completed")
             .order_by(insp_inspections.c.completed_on, insp_inspections.c.inspection_id))
    if template_id:
        query = query.where(insp_inspections.c.template_id == template_id)
    if since:
        query = query.where(insp_inspections.c.completed_on >= since)
    if until:
        query = query.where(insp_inspections.c.completed_on <= until)
    names = await _names(conn)
    series: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for r in await conn.execute(query):
        series[r.township_code].append({
            "inspection_id": r.inspection_id, "completed_on": r.completed_on, "score": r.score,
            "group_id": r.group_id, "group_name": r.group_name, "target_kind": r.target_kind,
            "target_name": r.target_name, "template_id": r.template_id, "template_version": r.template_version,
            "items_failed": r.items_failed, "focus_checks_with_issues": r.focus_checks_with_issues})
    result = []
    for code, points in sorted(series.items(), key=lambda kv: kv[0] or "~"):
        scored = [p["score"] for p in points if p["score"] is not None]
        months: dict[str, list[float]] = defaultdict(list)
        for p in points:
            if p["score"] is not None:
                months[_month(p["completed_on"])].append(p["score"])
        result.append({
            "township_code": code, "township_name": names.get(code or "", code), "inspections": len(points),
            "average_score": round(sum(scored) / len(scored), 1) if scored else None,
            "latest_score": scored[-1] if scored else None,
            "by_month": [{"month": m, "inspections": len(s), "average_score": round(sum(s) / len(s), 1)}
                         for m, s in sorted(months.items())],
            "inspections_list": points})
    return result


_i = insp_inspections.c
_scored = and_(_i.status == "completed", _i.score.is_not(None), _i.township_code.is_not(None))
# Built once: building them per request cost the scoreboards more CPU than running them.
_SCORED_DAYS = (select(_i.township_code, _i.completed_on, func.sum(_i.score), func.count())
                .where(_scored).group_by(_i.township_code, _i.completed_on))
_ranked = select(_i.township_code, _i.score, func.row_number().over(
    partition_by=_i.township_code, order_by=(_i.completed_on.desc(), _i.inspection_id.desc())).label("n")
).where(_scored).subquery()
_LATEST_SCORES = select(_ranked.c.township_code, _ranked.c.score).where(_ranked.c.n == 1)


async def township_score_summary(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
    """Per township, over its completed and scored inspections: the average and the latest score, and
    ``by_month`` ({YYYY-MM: [score sum, scored inspections]}), summed in SQL per completion day.

    What the scoreboards need of :func:`township_scores` without reading every inspection: the rows
    read grow with the days inspected, not with the inspections.
    """
    found: dict[str, dict[str, Any]] = {}
    for code, day, total, n in await conn.execute(_SCORED_DAYS):
        township = found.setdefault(code, {"sum": 0.0, "count": 0, "latest_score": None, "by_month": {}})
        township["sum"] += float(total)
        township["count"] += int(n)
        month = township["by_month"].setdefault(_month(day), [0.0, 0])
        month[0] += float(total)
        month[1] += int(n)
    for code, score in await conn.execute(_LATEST_SCORES):
        found[code]["latest_score"] = score
    for township in found.values():
        township["average_score"] = round(township.pop("sum") / township.pop("count"), 1)
    return found


async def item_scores(
    conn: AsyncConnection, *, template_id: str | None, since: date | None, until: date | None
) -> list[dict[str, Any]]:
    """Each template item's pass rate overall, by township and by month (final results of completed inspections)."""
    items = insp_template_items
    query = (select(insp_item_results, items.c.text, items.c.position, items.c.weight)
             .select_from(insp_item_results.outerjoin(items, and_(
                 items.c.template_id == insp_item_results.c.template_id,
                 items.c.version == insp_item_results.c.template_version,
                 items.c.item_id == insp_item_results.c.item_id))))
    if template_id:
        query = query.where(insp_item_results.c.template_id == template_id)
    if since:
        query = query.where(insp_item_results.c.completed_on >= since)
    if until:
        query = query.where(insp_item_results.c.completed_on <= until)
    tally: dict[tuple[str, int, str], dict[str, Any]] = {}
    for r in await conn.execute(query):
        key = (r.template_id, r.template_version, r.item_id)
        entry = tally.setdefault(key, {"text": r.text, "position": r.position or 0, "weight": r.weight,
                                       "counts": defaultdict(int), "township": defaultdict(lambda: defaultdict(int)),
                                       "month": defaultdict(lambda: defaultdict(int))})
        entry["counts"][r.result] += 1
        entry["township"][r.township_code][r.result] += 1
        entry["month"][_month(r.completed_on)][r.result] += 1

    def figures(counts: dict[str, int]) -> dict[str, Any]:
        passed, failed = counts.get("pass", 0), counts.get("fail", 0)
        return {"passed": passed, "failed": failed, "not_applicable": counts.get("not_applicable", 0),
                "pass_rate": _rate(passed, failed)}

    result = []
    for (tid, version, item_id), e in sorted(tally.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[1]["position"])):
        result.append({
            "template_id": tid, "template_version": version, "item_id": item_id, "text": e["text"],
            "weight": e["weight"], **figures(e["counts"]),
            "by_township": [{"township_code": code, **figures(c)} for code, c in sorted(
                e["township"].items(), key=lambda kv: kv[0] or "~")],
            "by_month": [{"month": m, **figures(c)} for m, c in sorted(e["month"].items())]})
    return result


async def open_findings(conn: AsyncConnection, today: date) -> list[dict[str, Any]]:
    """Per group: findings not yet closed, split by where they stand, with the overdue ones on ``today``."""
    query = (select(insp_findings, insp_inspections.c.target_name)
             .select_from(insp_findings.outerjoin(
                 insp_inspections, insp_inspections.c.inspection_id == insp_findings.c.inspection_id))
             .where(insp_findings.c.status != "closed")
             .order_by(insp_findings.c.recorded_on, insp_findings.c.finding_id))
    groups = {r.group_id: {"group_id": r.group_id, "name": r.name, "leader": r.leader, "open": 0,
                           "not_in_ledger": 0, "awaiting_unit": 0, "awaiting_recheck": 0, "overdue": 0,
                           "findings": []}
              for r in await conn.execute(select(insp_groups).order_by(insp_groups.c.group_id))}
    for r in await conn.execute(query):
        group = groups.setdefault(r.group_id, {"group_id": r.group_id, "name": r.group_id, "leader": None,
                                               "open": 0, "not_in_ledger": 0, "awaiting_unit": 0,
                                               "awaiting_recheck": 0, "overdue": 0, "findings": []})
        late = r.status in AWAITING_UNIT and r.deadline is not None and today > r.deadline
        group["open"] += 1
        group["not_in_ledger"] += r.status == "open"
        group["awaiting_unit"] += r.status in AWAITING_UNIT
        group["awaiting_recheck"] += r.status == "reported"
        group["overdue"] += late
        group["findings"].append({
            "finding_id": r.finding_id, "inspection_id": r.inspection_id, "target_name": r.target_name,
            "township_code": r.township_code, "source": r.source, "item_id": r.item_id,
            "description": r.description, "recorded_on": r.recorded_on, "status": r.status,
            "number": r.number, "responsible_unit": r.responsible_unit,
            "deadline": r.deadline, "overdue": late})
    return list(groups.values())
