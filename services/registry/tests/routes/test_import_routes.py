"""Register extract routes in-process: dry run, import, re-import, correction, reconciliation, deaths."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import Workbook, load_workbook

from services.registry.application import extract_analysis, imports
from services.registry.bootstrap import build_app
from services.registry.domain import certificate_life
from services.registry.settings import RegistrySettings
from shared.auth import Role
from shared.errors import InvalidInput
from shared.testing.http import app_client, bearer, error_of

pytestmark = pytest.mark.integration

DISTRICT, TOWNSHIP = "511403000000", "511403001000"
VILLAGE_1, VILLAGE_2 = "511403001001", "511403001002"
HEADINGS = ["序号", "姓名", "残疾人证号", "性别", "出生日期", "残疾类别", "残疾等级", "所属乡镇（街道）",
            "所属村（社区）", "联系电话", "住址", "发证日期"]


def certificate_number(sequence: int, category: int = 4, grade: int = 2) -> str:
    """A valid certificate number of a person born 1980-05-17 (odd sequence: male)."""
    first17 = f"51140319800517{sequence:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    return f"{first17}{check}{category}{grade}"


def row(sequence: int, *, name: str = "张三", village: str = "一村", grade: str = "二级",
        issued_on: str = "2020-03-15", number: str | None = None) -> list[str]:
    sex = "男" if sequence % 2 else "女"
    return [str(sequence), name, number or certificate_number(sequence), sex, "1980-05-17", "肢体残疾", grade,
            "凤鸣街道", village, "13800000000", f"{village}{sequence}号", issued_on]


def as_csv(rows: list[list[str]], headings: list[str] = HEADINGS) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([headings, *rows])
    return out.getvalue().encode("utf-8")


def as_xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADINGS)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
async def app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = RegistrySettings(data_dir=tmp_path, database_url=database_url, auth_secret="s" * 40,
                                nats_url="nats://127.0.0.1:1", import_max_bytes=50_000)
    application = build_app(settings)
    async with app_client(application) as client:
        client.headers.update(bearer(application, "admin", Role.FEDERATION_ADMIN))
        for unit in ({"code": DISTRICT, "name": "彭山区", "level": "district"},
                     {"code": TOWNSHIP, "name": "凤鸣街道", "level": "township", "parent_code": DISTRICT},
                     {"code": VILLAGE_1, "name": "一村", "level": "village", "parent_code": TOWNSHIP},
                     {"code": VILLAGE_2, "name": "二村", "level": "village", "parent_code": TOWNSHIP}):
            assert (await client.post("/org-units", json=unit)).status_code == 201
        yield application, client


async def _post(client: httpx.AsyncClient, path: str, content: bytes, **params: str) -> dict[str, Any]:
    response = await client.post(path, content=content, params=params, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _persons(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await client.get("/persons", params={"limit": 1000})).json()
    return found


async def test_dry_run_reports_each_row_and_writes_nothing(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    bad_check = certificate_number(5)[:17] + ("0" if certificate_number(5)[17] != "0" else "1") + "42"
    rows = [row(1), row(3, village="九村"), row(5, number=bad_check), row(7, grade="三级"), row(1)]
    report = await _post(client, "/register-imports/dry-run", as_csv(rows))
    assert report["summary"] == {"rows": 5, "new": 1, "registered": 0, "changed": 0, "deregistered": 0, "invalid": 4}
    by_line = {r["line"]: r for r in report["rows"]}
    assert by_line[2]["status"] == "new" and by_line[2]["name"] == "张**"  # masked in the report (fixed length)
    assert [p["field"] for p in by_line[3]["problems"]] == ["village"]
    assert [p["field"] for p in by_line[4]["problems"]] == ["certificate_number"]
    assert "check character" in by_line[4]["problems"][0]["message"]
    assert [p["field"] for p in by_line[5]["problems"]] == ["grade"]
    assert [p["field"] for p in by_line[6]["problems"]] == ["certificate_number"]  # same resident as line 2
    assert await _persons(client) == []


async def test_dry_run_downloads_as_xlsx(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    response = await client.post("/register-imports/dry-run", params={"format": "xlsx"},
                                 content=as_xlsx([row(1), row(3, village="九村")]))
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert [v[:2] for v in values[1:]] == [[2, "new"], [3, "invalid"]]


async def test_import_is_idempotent_and_a_changed_row_is_a_correction(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    extract = as_xlsx([row(1), row(3), row(5, village="九村")])
    first = await _post(client, "/register-imports", extract)
    assert (first["registered"], first["skipped"], first["corrected"]) == (2, 1, 0)
    assert [p["line"] for p in first["problems"]] == [4]
    persons = await _persons(client)
    assert len(persons) == 2 and {p["name"] for p in persons} == {"张三"}
    certificate = (await client.get(f"/persons/{persons[0]['person_id']}/certificate")).json()
    assert certificate["issued_on"] == "2020-03-15" and certificate["valid_until"] == "2030-03-14"

    again = await _post(client, "/register-imports", extract)
    assert (again["registered"], again["corrected"], again["unchanged"]) == (0, 0, 2)
    assert [p["version"] for p in await _persons(client)] == [p["version"] for p in persons]

    changed = as_csv([row(1, name="张叁", village="二村", issued_on="2020-03-15"), row(3, issued_on="2024-01-02",
                                                                                  number=certificate_number(3) + "B2")])
    dry = await _post(client, "/register-imports/dry-run", changed)
    assert sorted(r["differences"] for r in dry["rows"]) == [["issued_on", "suffix"], ["name", "address", "village"]]
    corrected = await _post(client, "/register-imports", changed)
    assert (corrected["corrected"], corrected["registered"]) == (2, 0)
    after = {p["village_code"]: p for p in await _persons(client)}
    assert after[VILLAGE_2]["name"] == "张叁"
    renewed = (await client.get(f"/persons/{after[VILLAGE_1]['person_id']}/certificate")).json()
    assert (renewed["valid_until"], renewed["suffix"]) == ("2034-01-01", "B2")
    assert (await _post(client, "/register-imports", changed))["corrected"] == 0


async def test_reconciliation_lists_missing_extra_and_differing(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    await _post(client, "/register-imports", as_csv([row(1), row(3), row(5)]))
    later = as_csv([row(1), row(5, grade="一级", number=certificate_number(5, grade=1)), row(7)])
    result = await _post(client, "/register-imports/reconciliation", later)
    assert [r["line"] for r in result["not_registered"]] == [4]
    assert len(result["not_in_file"]) == 1  # person 3
    assert [r["differences"] for r in result["differences"]] == [["category_grade"]]
    assert result["townships"] == [TOWNSHIP]


async def test_deaths_are_proposed_then_confirmed(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = app
    assert date.today() >= date(2026, 1, 6)  # the dates of death below must be in the past
    await _post(client, "/register-imports", as_csv([row(1), row(3)]))
    deaths = as_csv([["姓名", certificate_number(1)[:18], "2026-01-05"], ["李四", certificate_number(9), "2026-01-06"],
                     ["王五", certificate_number(3), "明天"]], headings=["姓名", "身份证号", "死亡日期"])
    proposals = (await client.post("/deaths/proposals", content=deaths)).json()
    assert [p["status"] for p in proposals] == ["proposed", "not_registered", "invalid"]
    assert all(p["active"] for p in await _persons(client))  # proposing writes nothing
    person_id = proposals[0]["person_id"]
    confirmed = await client.post("/deaths/confirmations", json={"deaths": [
        {"person_id": person_id, "died_on": "2026-01-05"}, {"person_id": "nobody", "died_on": "2026-01-05"}]})
    assert [(c["status"], c.get("error")) for c in confirmed.json()] == [("deregistered", None),
                                                                      ("refused", "not_found")]
    assert (await client.get(f"/persons/{person_id}/certificate")).json()["status"] == "cancelled"
    again = (await client.post("/deaths/proposals", content=deaths)).json()
    assert again[0]["status"] == "already_deregistered"


async def test_bad_uploads_are_refused_clearly(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    assert error_of(await client.post("/register-imports/dry-run", content=b"x" * 60_000))[:2] == (413, "too_large")
    assert error_of(await client.post("/register-imports", content=b""))[:3] == (422, "invalid", "file")
    assert error_of(await client.post("/register-imports", content=b"PK\x03\x04broken"))[:3] == (422, "invalid", "file")
    no_number = as_csv([["张三"]], headings=["姓名"])
    assert error_of(await client.post("/register-imports", content=no_number))[:3] == (422, "invalid", "file")
    viewer = bearer(application, "v", Role.VIEWER)
    assert error_of(await client.post("/register-imports", content=as_csv([row(1)]), headers=viewer))[:2] == (
        403, "forbidden")
    assert await _persons(client) == []


async def test_rows_go_through_the_group_commit_in_batches(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    executor = application.state.runtime.executor
    before = executor.batches
    result = await _post(client, "/register-imports", as_csv([row(n) for n in range(1, 60, 2)]))
    assert result["registered"] == 30
    assert executor.batches - before < 30  # rows share transactions: not one commit per row


async def test_a_chunk_that_fails_is_written_again_row_by_row(app: tuple[FastAPI, httpx.AsyncClient],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """300 rows in chunks of 100: the middle chunk meets a resident registered since the dry run (its
    duplicate check fails at commit), the last one a row a rule refuses; only those rows differ."""
    application, client = app
    monkeypatch.setattr(imports, "CHUNK_ROWS", 100)
    refused_on = "2019-09-09"
    rows = [row(n, issued_on=refused_on if n == 250 else "2020-03-15") for n in range(1, 301)]
    registered_once: list[bool] = []

    async def analyse_then_register_one(*args: Any) -> Any:
        reports = await extract_analysis.analyse(*args)  # the dry run sees line 151 (sequence 150) as new ...
        if registered_once:
            return reports
        registered_once.append(True)
        registered = await client.post("/persons", json={  # ... then someone registers that resident
            "certificate_number": certificate_number(150), "name": "李四", "address": "二村8号",
            "village_code": VILLAGE_2, "hardship": []})
        assert registered.status_code == 201, registered.text
        return reports

    issue = certificate_life.issue

    def issue_unless_refused(**kwargs: Any) -> Any:
        if kwargs["issued_on"] == date.fromisoformat(refused_on):
            raise InvalidInput("refused by a rule (test)", field="issued_on")
        return issue(**kwargs)

    monkeypatch.setattr(imports, "analyse", analyse_then_register_one)
    monkeypatch.setattr(certificate_life, "issue", issue_unless_refused)
    executor = application.state.runtime.executor
    before = executor.commands
    result = await _post(client, "/register-imports", as_csv(rows))
    assert (result["registered"], result["corrected"], result["failed"], result["skipped"]) == (298, 1, 1, 0)
    assert [(p["line"], p["problems"][0]["field"]) for p in result["problems"]] == [(251, "issued_on")]
    persons = await _persons(client)
    assert len(persons) == 299
    conflicting = next(p for p in persons if p["name"] == "张三" and p["village_code"] == VILLAGE_1
                       and p["version"] > 1)  # registered by hand, then corrected by the import
    assert conflicting["person_id"]
    # The first chunk went as one command; the two failed ones row by row (not all 300 rows).
    assert executor.commands - before < 250
    again = await _post(client, "/register-imports", as_csv(rows))
    assert (again["registered"], again["unchanged"], again["failed"]) == (0, 299, 1)
