"""Checking one row of a certificate holders' extract against the rules, before any lookup by ID.

Pure: a row of text fields in, either a checked row or the list of what is wrong with it out.
Villages are resolved through a :class:`VillageDirectory` built from the org units the caller
read; whether the resident is already registered is the caller's question (it needs the index).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from services.registry.domain.certificate import (
    Certificate,
    InvalidCertificate,
    validate_certificate_number,
    validate_resident_id,
)
from services.registry.domain.certificate_life import split_suffix

CATEGORY_NAMES = {"视力": 1, "听力": 2, "言语": 3, "肢体": 4, "智力": 5, "精神": 6, "多重": 7}
_GRADE_NAMES = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_SEX = {"男": "male", "女": "female", "male": "male", "female": "female"}


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field of a row."""

    field: str
    message: str


@dataclass(frozen=True)
class ExtractRow:
    """A row that passed every check that needs no lookup by ID."""

    line: int
    certificate: Certificate
    suffix: str
    name: str
    address: str
    village_code: str
    township_code: str
    issued_on: date | None


@dataclass
class VillageDirectory:
    """Villages by 12-digit code and by (township name, village name)."""

    township_of: dict[str, str] = field(default_factory=dict)
    by_names: dict[tuple[str, str], str] = field(default_factory=dict)
    by_village_name: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, units: list[tuple[str, str, str, str | None]]) -> VillageDirectory:
        """From ``(code, name, level, parent_code)`` of every org unit."""
        names = {code: name for code, name, _level, _parent in units}
        directory = cls()
        for code, name, level, parent in units:
            if level == "village" and parent is not None:
                directory.township_of[code] = parent
                directory.by_names[(names.get(parent, ""), name)] = code
                directory.by_village_name.setdefault(name, []).append(code)
        return directory

    def resolve(self, row: dict[str, str]) -> tuple[str, str] | Problem:
        """``(village code, township code)`` of a row, from its division code or its names."""
        code = row.get("division_code", "").strip()
        if code:
            if code not in self.township_of:
                return Problem("village", f"division code {code} is not a village in the register of org units")
            return code, self.township_of[code]
        village, township = row.get("village", "").strip(), row.get("township", "").strip()
        if not village:
            return Problem("village", "no village (所属村/社区) or division code (行政区划代码) given")
        if township:
            found = self.by_names.get((township, village))
            if found is None:
                return Problem("village", f"unknown village {village!r} in township {township!r}")
            return found, self.township_of[found]
        candidates = self.by_village_name.get(village, [])
        if len(candidates) != 1:
            why = "unknown" if not candidates else "ambiguous without its township"
            return Problem("village", f"village {village!r} is {why}")
        return candidates[0], self.township_of[candidates[0]]


def _category(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        return int(text)
    return next((code for name, code in CATEGORY_NAMES.items() if text.startswith(name)), None)


def _grade(text: str) -> int | None:
    match = re.search(r"[1-4一二三四]", text)
    return _GRADE_NAMES[match[0]] if match else None


def _consistency(row: dict[str, str], certificate: Certificate, birth: date | None) -> list[Problem]:
    problems = []
    category, grade = row.get("category", ""), row.get("grade", "")
    if category and _category(category) != int(certificate.category):
        problems.append(Problem("category", f"category {category!r} does not match the certificate number's "
                                f"category digit {int(certificate.category)} "
                                f"({certificate.category_name})"))
    if grade and _grade(grade) != certificate.grade:
        problems.append(Problem("grade", f"grade {grade!r} does not match the certificate number's grade digit "
                                f"{certificate.grade}"))
    sex = row.get("sex", "").strip().lower()
    if sex and _SEX.get(sex) != certificate.resident_id.sex:
        problems.append(Problem("sex", f"sex {sex!r} does not match the resident ID's sequence "
                                f"({certificate.resident_id.sex})"))
    if birth is not None and birth != certificate.resident_id.birth_date:
        # Not echoing the ID's own date: the report is downloadable and must not carry the ID's digits.
        problems.append(Problem("birth_date", "birth date does not match the one in the resident ID"))
    return problems


def check_row(
    line: int, row: dict[str, str], *, villages: VillageDirectory, today: date,
    parse_date: Callable[[str], date | None],
) -> ExtractRow | list[Problem]:
    """Check one row: certificate number (and why it is wrong), consistency, village, dates."""
    problems: list[Problem] = []
    number, suffix = split_suffix(row.get("certificate_number", ""))
    certificate: Certificate | None = None
    try:
        certificate = validate_certificate_number(number, today=today)
    except InvalidCertificate as exc:
        problems.append(Problem("certificate_number", exc.message))
    name = row.get("name", "").strip()
    if not name or len(name) > 50:
        problems.append(Problem("name", "name (姓名) is missing" if not name else "name is longer than 50 characters"))
    birth = parse_date(row["birth_date"]) if row.get("birth_date") else None
    if row.get("birth_date") and birth is None:
        problems.append(Problem("birth_date", f"birth date {row['birth_date']!r} is not a date"))
    issued_on = parse_date(row["issued_on"]) if row.get("issued_on") else None
    if row.get("issued_on") and issued_on is None:
        problems.append(Problem("issued_on", f"issue date {row['issued_on']!r} is not a date"))
    elif issued_on is not None and issued_on > today:
        problems.append(Problem("issued_on", f"issue date {issued_on} is in the future"))
    if certificate is not None:
        problems.extend(_consistency(row, certificate, birth))
    place = villages.resolve(row)
    if isinstance(place, Problem):
        problems.append(place)
    address = row.get("address", "").strip()
    if len(address) > 200:
        problems.append(Problem("address", "address is longer than 200 characters"))
    if problems or certificate is None or isinstance(place, Problem):
        return problems
    return ExtractRow(line=line, certificate=certificate, suffix=suffix, name=name, address=address,
                      village_code=place[0], township_code=place[1], issued_on=issued_on)


def resident_of(row: dict[str, str], *, today: date) -> str | Problem:
    """The resident ID of a row of a deaths list: from the certificate number or the resident ID column."""
    text = row.get("certificate_number", "").strip() or row.get("resident_id", "").strip()
    if not text:
        return Problem("certificate_number", "no certificate number (残疾人证号) or resident ID (身份证号) given")
    number, _suffix = split_suffix(text)
    try:
        if len(number) >= 20:
            return validate_certificate_number(number, today=today).resident_id.value
        return validate_resident_id(number, today=today).value
    except InvalidCertificate as exc:
        return Problem("certificate_number", exc.message)
