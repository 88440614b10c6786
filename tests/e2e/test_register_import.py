"""Importing an extract of certificate holders: registry → NATS → reporting's coverage and certificates."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from services.stack.demo.pengshan import TOWNSHIPS, certificate_number, seed_organisation
from shared.auth import Role
from shared.testing.servers import NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = pytest.mark.e2e

YEAR = date.today().year


def _extract(villages: list[str]) -> bytes:
    """Three holders, as the national system's export names its columns; one certificate ends in 30 days."""
    rng = random.Random(7)
    today = date.today()
    soon = date(today.year - 10, today.month, min(today.day, 28)) + timedelta(days=30)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "残疾人证号", "行政区划代码", "住址", "发证日期"])
    for n, (village, issued) in enumerate(zip(villages[:3], [soon, date(2021, 5, 1), date(2022, 6, 1)],
                                              strict=True)):
        writer.writerow([f"测试{n}", certificate_number(rng), village, f"演示村{n}号", issued.isoformat()])
    return out.getvalue().encode("utf-8")


async def _wait(reached: Any, message: str, stack: Stack) -> None:
    try:
        await wait_until(reached, timeout=30, message=message)
    except AssertionError:
        print(stack.logs())
        raise


async def test_an_imported_extract_reaches_coverage_and_certificates(
    stack_factory: Any, nats_server: NatsServerProcess
) -> None:
    stack: Stack = stack_factory(nats_server)
    stack.add("registry")
    stack.add("reporting")
    stack.start()
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=3, townships=TOWNSHIPS[:1])
    extract = _extract(villages)
    dry = expect(registry.post("/register-imports/dry-run", content=extract), 200)
    assert dry["summary"]["new"] == 3
    imported = expect(registry.post("/register-imports", content=extract), 200)
    assert imported["registered"] == 3

    def covered() -> bool:
        response = reporting.get("/coverage", params={"year": YEAR})
        return response.status_code == 200 and response.json()["all"]["registered"] == 3
    await _wait(covered, "coverage to show the 3 imported persons", stack)

    def expiring() -> bool:
        response: httpx.Response = reporting.get("/certificates/expiring")
        return response.status_code == 200 and len(response.json()) == 1
    await _wait(expiring, "reporting to list the certificate expiring in 30 days", stack)

    again = expect(registry.post("/register-imports", content=extract), 200)
    assert (again["registered"], again["corrected"], again["unchanged"]) == (0, 0, 3)
