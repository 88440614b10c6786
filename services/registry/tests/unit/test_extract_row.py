"""Reading an extract: headings by name with synonyms, dates in the forms officers type, row checks."""

from __future__ import annotations

from datetime import date

import pytest

from services.registry.adapters.spreadsheet import parse_date, read_sheet
from services.registry.domain.extract_row import ExtractRow, Problem, VillageDirectory, check_row, resident_of
from shared.errors import InvalidInput

pytestmark = pytest.mark.unit

TODAY = date(2026, 6, 1)
NUMBER = "11010519491231002X42"  # GB 11643's example ID (female, 1949-12-31), physical, grade 2
VILLAGES = VillageDirectory.of([
    ("511403001000", "凤鸣街道", "township", "511403000000"),
    ("511403003000", "青龙街道", "township", "511403000000"),
    ("511403001001", "一村", "village", "511403001000"),
    ("511403003001", "一村", "village", "511403003000"),
    ("511403003002", "二村", "village", "511403003000"),
])


def _check(**row: str) -> ExtractRow | list[Problem]:
    base = {"name": "王芳", "certificate_number": NUMBER, "township": "凤鸣街道", "village": "一村"}
    return check_row(7, {**base, **row}, villages=VILLAGES, today=TODAY, parse_date=parse_date)


def test_headings_are_found_by_name_in_any_order_with_synonyms_and_brackets() -> None:
    text = "序号,所属村（社区）,残疾证号,姓 名,所属乡镇/街道,发证日期\n1,一村,X,王芳,凤鸣街道,2020/3/5\n,,,,,\n"
    sheet = read_sheet(text.encode("gb18030"), required=("name", "certificate_number"))
    assert sheet.rows == [(2, {"village": "一村", "certificate_number": "X", "name": "王芳",
                               "township": "凤鸣街道", "issued_on": "2020/3/5"})]


def test_missing_required_heading_names_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_sheet("姓名,住址\n王芳,一村\n".encode(), required=("name", "certificate_number"))
    assert caught.value.field == "file" and "残疾人证号" in caught.value.message


@pytest.mark.parametrize("text", ["2020-03-05", "2020/3/5", "2020.03.05", "2020年3月5日", "20200305",
                                  "2020-03-05 00:00:00"])
def test_dates_in_the_forms_officers_type(text: str) -> None:
    assert parse_date(text) == date(2020, 3, 5)


def test_not_a_date() -> None:
    assert parse_date("2020-02-30") is None and parse_date("明天") is None


def test_a_good_row_resolves_its_village_by_names_and_reads_the_suffix() -> None:
    checked = _check(certificate_number=NUMBER + "B2", issued_on="2021-01-04", sex="女", category="肢体残疾",
                     grade="二级", birth_date="1949-12-31")
    assert isinstance(checked, ExtractRow)
    assert (checked.village_code, checked.township_code, checked.suffix) == ("511403001001", "511403001000", "B2")


def test_a_village_name_needs_its_township_when_two_share_it() -> None:
    ambiguous = _check(township="")  # 一村 exists in two townships
    assert isinstance(ambiguous, list) and [p.field for p in ambiguous] == ["village"]
    only = _check(township="", village="二村")
    assert isinstance(only, ExtractRow) and only.village_code == "511403003002"
    unknown = _check(division_code="511403009009")
    assert isinstance(unknown, list) and [p.field for p in unknown] == ["village"]


def test_every_problem_of_a_row_is_named() -> None:
    problems = _check(certificate_number=NUMBER[:-2] + "92", name="", sex="男", issued_on="2027-01-01")
    assert isinstance(problems, list)
    assert {p.field for p in problems} == {"certificate_number", "name", "issued_on"}
    mismatched = _check(sex="男", grade="一级", category="视力", birth_date="1950-01-01")
    assert isinstance(mismatched, list)
    assert {p.field for p in mismatched} == {"sex", "grade", "category", "birth_date"}


def test_deaths_list_reads_the_resident_id_or_the_number() -> None:
    assert resident_of({"resident_id": NUMBER[:18]}, today=TODAY) == NUMBER[:18]
    assert resident_of({"certificate_number": NUMBER + "B1"}, today=TODAY) == NUMBER[:18]
    problem = resident_of({"resident_id": "110105194912310021"}, today=TODAY)
    assert isinstance(problem, Problem) and problem.field == "certificate_number"
