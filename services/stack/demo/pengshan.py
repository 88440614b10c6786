"""Pengshan District's real division codes and invented, clearly-demo villages, persons and staff."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx

from shared.http.client import expect

DISTRICT = ("511403000000", "彭山区")
TOWNSHIPS: list[tuple[str, str]] = [
    ("511403001000", "凤鸣街道"),
    ("511403003000", "青龙街道"),
    ("511403004000", "观音街道"),
    ("511403006000", "谢家街道"),
    ("511403007000", "江口街道"),
    ("511403110000", "锦江镇"),
    ("511403118000", "公义镇"),
    ("511403121000", "黄丰镇"),
]
DEPARTMENTS: list[tuple[str, str]] = [
    ("federation", "区残联"),
    ("civil_affairs", "区民政局"),
    ("hrss", "区人社局"),
    ("health", "区卫健局"),
    ("education", "区教育局"),
    ("housing", "区住建局"),
]
MEASURES: dict[str, tuple[str, tuple[str, ...]]] = {
    # need -> (the department usually responsible, measures that answer that need)
    "rehabilitation": ("health", ("上门康复", "社区康复训练")),
    "assistive_devices": ("civil_affairs", ("适配轮椅", "辅助器具适配")),
    "employment": ("hrss", ("技能培训", "推荐就业岗位")),
    "living_subsidy": ("civil_affairs", ("申请两项补贴", "低保申请")),
    "care_services": ("civil_affairs", ("居家托养服务", "日间照料")),
    "barrier_free": ("housing", ("无障碍改造",)),
    "medical": ("health", ("家庭医生签约", "医疗救助")),
    "education": ("education", ("送教上门", "助学补贴")),
}
"""What a plan item of the demo does for each need (so that need and measure belong together)."""
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"


def village_code(township_code: str, number: int) -> str:
    """The n-th demo village (or community) of a township."""
    return f"{township_code[:9]}{number:03d}"


def village_name(township_code: str, township_name: str, number: int) -> str:
    """An obviously invented name: 演示社区03 under a subdistrict, 演示村03 under a town."""
    kind = "社区" if township_name.endswith("街道") else "村"
    return f"{township_name}演示{kind}{number:02d}"


def seed_organisation(client: httpx.Client, *, villages_per_township: int = 4,
                      townships: list[tuple[str, str]] | None = None) -> list[str]:
    """Create the district, townships, demo villages, departments and the default service catalogue;
    returns the village codes."""
    expect(client.post("/org-units", json={"code": DISTRICT[0], "name": DISTRICT[1], "level": "district"}), 201)
    villages: list[str] = []
    for code, name in townships or TOWNSHIPS:
        expect(client.post("/org-units", json={"code": code, "name": name, "level": "township",
                                                "parent_code": DISTRICT[0]}), 201)
        for n in range(1, villages_per_township + 1):
            village = village_code(code, n)
            expect(client.post("/org-units", json={"code": village, "name": village_name(code, name, n),
                                                    "level": "village", "parent_code": code}), 201)
            villages.append(village)
    existing = {d["code"] for d in expect(client.get("/departments"), 200)}
    for code, name in DEPARTMENTS:
        if code not in existing:  # `init` already created the federation on a real installation
            expect(client.post("/departments", json={"code": code, "name": name}), 201)
    expect(client.post("/service-catalogue/defaults"), 200)
    return villages


def _check_character(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def certificate_number(rng: random.Random, *, category: int | None = None, grade: int | None = None) -> str:
    """A valid, random, invented certificate number with a Pengshan address code."""
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80))
    first17 = f"511403{birth:%Y%m%d}{rng.randrange(1, 1000):03d}"
    category = category or rng.choices(range(1, 8), weights=(10, 12, 3, 40, 12, 15, 8))[0]
    grade = grade or rng.choices(range(1, 5), weights=(12, 22, 33, 33))[0]
    return f"{first17}{_check_character(first17)}{category}{grade}"


def person_body(rng: random.Random, village: str, number: int) -> dict[str, Any]:
    """A registration request for an invented person."""
    hardship = rng.choices([[], ["subsistence_allowance"], ["extreme_poverty"], ["living_alone"],
                            ["elderly_carer", "low_income"]], weights=(70, 14, 4, 7, 5))[0]
    return {
        "certificate_number": certificate_number(rng),
        "name": f"{rng.choice(SURNAMES)}演示{number:04d}",
        "address": f"{village[-3:]}号演示路{rng.randrange(1, 200)}号",
        "village_code": village,
        "hardship": hardship,
    }


DEMO_STAFF: list[dict[str, Any]] = [
    {"staff_id": "viewer", "display_name": "区领导(演示)", "department": "federation", "roles": ["viewer"]},
    {"staff_id": "auditor", "display_name": "审计员(演示)", "department": "federation", "roles": ["auditor"]},
    *[{"staff_id": f"{code}-officer", "display_name": f"{name}专干(演示)", "department": code,
       "roles": ["department_officer"]} for code, name in DEPARTMENTS if code != "federation"],
    *[{"staff_id": f"township-{code[6:9]}", "display_name": f"{name}专干(演示)", "department": "federation",
       "roles": ["township_officer"], "township_code": code} for code, name in TOWNSHIPS],
    *[{"staff_id": f"inspector-{n}", "display_name": f"督导员{n:02d}(演示)", "department": "federation",
       "roles": ["inspector"]} for n in range(1, 11)],
]


async def load_registry_demo(client: httpx.AsyncClient, *, persons: int, year: int, today: date,
                             seed: int = 2026, concurrency: int = 16,
                             progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Register invented persons with visits, plans and items over HTTP; returns what was created.
    ``progress`` is told how many persons are done, after each one.

    Visits happen at the start of the year (Pengshan's practice); most visited persons get a plan;
    items fall due through the year, and those due before ``today`` are mostly, not all, delivered,
    so the dashboards show overdue work.
    """
    import asyncio

    rng = random.Random(seed)
    villages = [r["code"] for r in (await client.get("/org-units")).json() if r["level"] == "village"]
    # named as the dashboard counts: persons (not visits or items), 失访 apart from visited
    counts = {"persons registered": 0, "persons visited": 0, "persons lost to follow-up (失访, not visited)": 0,
              "persons with a plan": 0, "plan items": 0, "items delivered": 0, "persons with an item delivered": 0}
    gate = asyncio.Semaphore(concurrency)
    needs = list(MEASURES)

    async def post(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post(url, json=body)
        if response.status_code >= 300:
            raise RuntimeError(f"demo data: POST {url} -> {response.status_code}: {response.text}")
        result: dict[str, Any] = response.json()
        return result

    done = 0

    async def one(number: int, r: random.Random) -> None:
        nonlocal done
        async with gate:
            await person(number, r)
        done += 1
        if progress is not None:
            progress(done)

    async def person(number: int, r: random.Random) -> None:
        pid = (await post("/persons", person_body(r, r.choice(villages), number)))["person_id"]
        counts["persons registered"] += 1
        if r.random() > 0.87:
            return
        visited_on = date(year, 1, 5) + timedelta(days=r.randrange(0, 80))
        lost = r.random() < 0.03
        person_needs = [] if lost else r.sample(needs, r.randrange(1, 4))
        await post(f"/persons/{pid}/visits", {
            "visited_on": min(visited_on, today).isoformat(),
            "mode": "lost_to_follow_up" if lost else r.choice(["home", "home", "home", "phone", "face_to_face"]),
            "needs": person_needs,
            "what_they_need": "" if lost else "演示:康复与生活补贴",
        })
        counts["persons lost to follow-up (失访, not visited)" if lost else "persons visited"] += 1
        if lost or r.random() > 0.8:
            return
        await post(f"/persons/{pid}/plans/{year}")
        counts["persons with a plan"] += 1
        delivered_any = False
        for _ in range(r.randrange(1, 4)):
            due = date(year, 2, 1) + timedelta(days=r.randrange(0, 320))
            need = r.choice(person_needs)
            department, measures = MEASURES[need]
            item = await post(f"/persons/{pid}/plans/{year}/items", {
                "kind": r.choice(["protection", "protection", "income"]), "need": need,
                "description": "演示措施:" + r.choice(measures),
                "responsible_department": department, "due_on": due.isoformat()})
            counts["plan items"] += 1
            if due <= today and r.random() < 0.8:
                delivered_on = min(due - timedelta(days=r.randrange(0, 20)), today)
                await post(f"/persons/{pid}/plans/{year}/items/{item['item_id']}/delivery",
                           {"delivered_on": max(delivered_on, date(year, 1, 1)).isoformat()})
                counts["items delivered"] += 1
                delivered_any = True
        counts["persons with an item delivered"] += delivered_any

    await asyncio.gather(*(one(n, random.Random(rng.random())) for n in range(1, persons + 1)))
    return counts
