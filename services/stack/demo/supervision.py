"""Demo supervision for Pengshan: five inspection groups, their inspections and a realistic ledger.

Loaded over HTTP into a running inspections service, after the registry demo (staff, departments,
townships, persons) and a published inspection template have reached it through NATS. Everything
is dated on or before ``today``: inspections over the past months, failed items raising findings,
rectifications in every state — closed (复查销号), reported and awaiting re-check, reopened, deadline
extended, and overdue.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from shared.http.client import expect

GROUP_NAMES = ("第一督导组", "第二督导组", "第三督导组", "第四督导组", "第五督导组")
UNITS = ("civil_affairs", "hrss", "health", "education", "housing")
"""Responsible units used by the demo; each has a department officer ``<code>-officer`` in the registry demo."""

FAIL_NOTES = ("抽查发现资料不全", "台账未及时更新", "现场核查与上报不符", "部分对象未落实", "佐证材料缺失")
MEASURES = ("逐户核查、补齐资料，建立动态更新机制", "限期整改并报送佐证材料", "召开专题会议，明确责任人和时限",
            "开展专项排查，举一反三", "完善工作台账，落实周调度")


@dataclass
class _Demo:
    """What the loader needs while it works: clients, the template, the clock, a seeded RNG."""

    admin: httpx.Client
    clients_by_staff: Callable[[str], httpx.Client]
    today: date
    rng: random.Random
    template: dict[str, Any]
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def as_staff(self, staff_id: str) -> httpx.Client:
        """One client per member of staff, reused."""
        if staff_id not in self.clients:
            self.clients[staff_id] = self.clients_by_staff(staff_id)
        return self.clients[staff_id]


def _wait_for_facts(admin: httpx.Client, township_codes: list[str], timeout: float = 60.0) -> dict[str, Any]:
    """Wait until the inspections service has learned a template, inspectors, departments and townships."""
    deadline = time.monotonic() + timeout
    missing = "nothing yet"
    while time.monotonic() < deadline:
        templates = expect(admin.get("/templates"), 200)
        staff = expect(admin.get("/directory/staff"), 200)
        departments = {d["code"] for d in expect(admin.get("/directory/departments"), 200)}
        townships = {t["code"] for t in expect(admin.get("/directory/townships"), 200)}
        inspectors = sorted((s["staff_id"] for s in staff if "inspector" in s["roles"]),
                            key=lambda s: (len(s), s))
        missing = ", ".join(what for what, absent in (
            ("a published template", not templates), ("inspectors", len(inspectors) < 2),
            ("departments", not set(UNITS) <= departments),
            ("townships", not set(township_codes) <= townships)) if absent)
        if not missing:
            first = templates[0]["template_id"]
            latest = max((t for t in templates if t["template_id"] == first), key=lambda t: t["version"])
            return {"template": latest, "inspectors": inspectors}
        time.sleep(0.5)  # facts arrive through NATS from the registry and checklists; poll, bounded
    raise RuntimeError(f"the inspections service has not learned {missing} after {timeout:.0f}s: "
                       "load the registry and checklists demos first")


def _window(today: date, year: int) -> tuple[date, date]:
    """The period the demo inspections fall in: within ``year`` when it has begun long enough, else ~4 months."""
    start = date(year, 1, 10)
    if start > today or (today - start).days < 60:
        start = today - timedelta(days=120)
    return max(start, today - timedelta(days=180)), today


def _form_groups(demo: _Demo, inspectors: list[str], township_codes: list[str]) -> list[dict[str, Any]]:
    groups = []
    for n, name in enumerate(GROUP_NAMES):
        leader = inspectors[(2 * n) % len(inspectors)]
        member = inspectors[(2 * n + 1) % len(inspectors)]
        body = {"name": name, "leader": leader, "members": [member],
                "township_codes": township_codes[n::len(GROUP_NAMES)], "unit_codes": [UNITS[n % len(UNITS)]]}
        group_id = expect(demo.admin.post("/groups", json=body), 201)["group_id"]
        groups.append({**body, "group_id": group_id})
    return groups


def _record_items(demo: _Demo, client: httpx.Client, url: str, fail_rate: float) -> list[dict[str, Any]]:
    """Results for every template item; returns the failed items."""
    failed = []
    for item in demo.template["items"]:
        roll = demo.rng.random()
        if roll < fail_rate:
            note = demo.rng.choice(FAIL_NOTES)
            expect(client.put(f"{url}/items/{item['item_id']}", json={"result": "fail", "note": note}), 200)
            failed.append({**item, "note": note})
        elif roll < fail_rate + 0.05:
            expect(client.put(f"{url}/items/{item['item_id']}", json={"result": "not_applicable"}), 200)
        else:
            evidence = [f"demo://photo/{item['item_id']}-{demo.rng.randrange(1000)}"]
            expect(client.put(f"{url}/items/{item['item_id']}", json={"result": "pass", "evidence": evidence}), 200)
    return failed


def _focus_checks(demo: _Demo, client: httpx.Client, url: str) -> list[str]:
    """Focus checks on a few severe or hardship persons; returns those with a "no"."""
    persons = expect(client.get(f"{url}/focus-persons"), 200)["persons"]
    with_issue = []
    for person in demo.rng.sample(persons, min(3, len(persons))):
        says = person["registry_says"]
        body = {"archive_complete": demo.rng.random() < 0.85, "visited_this_year": says["visited_this_year"],
                "has_plan": says["has_plan"], "note": "入户核实"}
        expect(client.put(f"{url}/focus-checks/{person['person_id']}", json=body), 200)
        if not all(body[k] for k in ("archive_complete", "visited_this_year", "has_plan")):
            with_issue.append(person["person_id"])
    return with_issue


def _inspect(demo: _Demo, group: dict[str, Any], target: dict[str, Any], day: date, *, finish: bool) -> list[str]:
    """One inspection on ``day``; returns the ids of the findings raised (none if not finished)."""
    leader = demo.as_staff(group["leader"])
    body = {"group_id": group["group_id"], "template_id": demo.template["template_id"],
            "template_version": demo.template["version"], "scheduled_on": (day - timedelta(days=5)).isoformat(),
            **target}
    url = f"/inspections/{expect(leader.post('/inspections', json=body), 201)['inspection_id']}"
    if day > demo.today:
        return []
    expect(leader.post(f"{url}/start", json={"started_on": day.isoformat()}), 200)
    if not finish:
        return []
    failed = _record_items(demo, leader, url, fail_rate=demo.rng.choice((0.15, 0.25, 0.35)))
    persons = _focus_checks(demo, leader, url) if target.get("target_kind") != "lead_unit" else []
    expect(leader.post(f"{url}/completion", json={"completed_on": day.isoformat()}), 200)
    findings = []
    for item in failed:
        description = f"{item['text']}：{item['note']}"
        findings.append(expect(leader.post(f"{url}/findings", json={"item_id": item["item_id"],
                                                                    "description": description}), 201))
    for person_id in persons[:1]:
        findings.append(expect(leader.post(f"{url}/findings", json={
            "person_id": person_id, "description": "重点人员档案或一人一策未落实到位"}), 201))
    return [f"{url}/findings/{f['finding_id']}" for f in findings]


def _ledger_entry(demo: _Demo, group: dict[str, Any], finding_url: str, unit: str, day: date) -> None:
    """Enter a finding into the ledger and move it through a realistic life, never past ``today``."""
    leader = demo.as_staff(group["leader"])
    deadline = day + timedelta(days=demo.rng.choice((15, 30, 45)))
    rect = expect(leader.post(f"{finding_url}/rectification", json={
        "responsible_unit": unit, "measures": demo.rng.choice(MEASURES), "deadline": deadline.isoformat(),
        "assigned_on": day.isoformat()}), 201)
    url = f"/rectifications/{rect['rectification_id']}"
    officer = demo.as_staff(f"{unit}-officer")
    roll = demo.rng.random()
    reported_on = day + timedelta(days=demo.rng.randrange(3, 20))
    if roll < 0.12 or reported_on > demo.today:  # untouched: overdue once the deadline passes
        if deadline >= demo.today and roll < 0.05:
            expect(leader.post(f"{url}/deadline-extension", json={
                "deadline": (deadline + timedelta(days=15)).isoformat(), "reason": "涉及资金审批，申请延期"}), 200)
        return
    report = {"measures_taken": "已按要求完成整改", "evidence": [f"demo://doc/{rect['number']}"],
              "reported_on": reported_on.isoformat()}
    expect(officer.post(f"{url}/report", json=report), 200)
    checked_on = min(reported_on + timedelta(days=demo.rng.randrange(2, 10)), demo.today)
    if roll < 0.30:  # reported, awaiting the re-check
        return
    if roll < 0.45:  # re-checked and sent back; reported again or left (overdue if late)
        expect(leader.post(f"{url}/reopening", json={"reason": "复查发现整改不到位",
                                                     "reopened_on": checked_on.isoformat()}), 200)
        again = checked_on + timedelta(days=7)
        if roll < 0.38 and again <= demo.today:
            expect(officer.post(f"{url}/report", json={**report, "reported_on": again.isoformat(),
                                                        "measures_taken": "已再次整改到位"}), 200)
        return
    expect(leader.post(f"{url}/verification", json={
        "note": "复查属实，予以销号", "evidence": [f"demo://photo/recheck-{rect['number']}"],
        "verified_on": checked_on.isoformat()}), 200)


def load_supervision_demo(
    federation_admin: httpx.Client,
    clients_by_staff: Callable[[str], httpx.Client],
    *,
    year: int,
    today: date,
    township_codes: list[str],
) -> None:
    """Five groups, two rounds of township inspections, lead-unit inspections, findings and the ledger.

    ``federation_admin`` and the clients ``clients_by_staff`` returns talk to the inspections service;
    the inspectors (role ``inspector``) and the officers ``<unit>-officer`` of :data:`UNITS` must be
    enrolled in the registry. ``today`` must not be later than the service's own date. Does nothing
    if groups exist already.
    """
    if expect(federation_admin.get("/groups"), 200):
        return
    facts = _wait_for_facts(federation_admin, township_codes)
    demo = _Demo(federation_admin, clients_by_staff, today, random.Random(year), facts["template"])
    try:
        groups = _form_groups(demo, facts["inspectors"], township_codes)
        start, end = _window(today, year)
        span = (end - start).days
        plan: list[tuple[dict[str, Any], dict[str, Any], date, bool]] = []
        for n, group in enumerate(groups):
            for k, code in enumerate(group["township_codes"]):
                first = start + timedelta(days=(span // 3) * k // 2 + n * 3)
                second = start + timedelta(days=span // 2 + n * 5 + k * 4)
                target = {"target_kind": "township", "target_code": code}
                plan += [(group, target, first, True), (group, target, min(second, end), n != 4 or k != 0)]
            unit = group["unit_codes"][0]
            plan.append((group, {"target_kind": "lead_unit", "target_code": unit},
                         start + timedelta(days=span // 4 + n * 2), True))
        if groups[0]["township_codes"] and groups[1]["township_codes"]:
            site = {"target_kind": "demonstration_site", "target_code": "demo-site-01",
                    "target_name": "残疾人之家示范点（演示）", "township_code": groups[0]["township_codes"][0]}
            plan.append((groups[0], site, end - timedelta(days=10), True))
            plan.append((groups[1], {"target_kind": "township", "target_code": groups[1]["township_codes"][0]},
                         today + timedelta(days=7), False))
        for group, target, day, finish in sorted(plan, key=lambda p: p[2]):
            for finding_url in _inspect(demo, group, target, day, finish=finish):
                unit = target["target_code"] if target["target_kind"] == "lead_unit" else demo.rng.choice(UNITS)
                _ledger_entry(demo, group, finding_url, unit, day)
    finally:
        for client in demo.clients.values():
            client.close()
