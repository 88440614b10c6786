"""Pengshan District's real division codes and invented, clearly-demo villages, persons and staff."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import httpx

from shared.testing.stack import expect

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
    """Create the district, townships, demo villages and departments; returns the village codes."""
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
    for code, name in DEPARTMENTS:
        expect(client.post("/departments", json={"code": code, "name": name}), 201)
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
