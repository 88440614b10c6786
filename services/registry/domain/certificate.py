"""Resident ID and second-generation disability certificate numbers.

A resident ID (GB 11643-1999) has 18 characters: a 6-digit address code, the birth date
``YYYYMMDD``, a 3-digit sequence (odd = male, even = female) and a check character computed with
ISO 7064 MOD 11-2. A second-generation disability certificate number appends the disability
category digit (1–7) and grade digit (1–4, 1 most severe) to it, 20 characters in all.

Everything here is pure: no I/O, no clock unless the caller leaves ``today`` unset.
"""

import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "Certificate",
    "CertificatePart",
    "DisabilityCategory",
    "InvalidCertificate",
    "ResidentId",
    "SevereRule",
    "check_character",
    "make_resident_id",
    "mask_certificate",
    "mask_name",
    "validate_certificate_number",
    "validate_resident_id",
]

RESIDENT_ID_LENGTH = 18
CERTIFICATE_LENGTH = 20

CertificatePart = Literal[
    "length", "characters", "address_code", "birth_date", "sequence", "check_digit", "category", "grade"
]
Sex = Literal["male", "female"]

_DIGITS = frozenset("0123456789")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_WEIGHTED_ZEROS = ord("0") * sum(_WEIGHTS)
"""What the ASCII codes of 17 digits add to their weighted sum (the check sums codes, not ``int`` per digit)."""
_WELL_FORMED = re.compile(r"[0-9]{17}[0-9X][0-9]*")
"""Characters every position allows (only the 18th may be X): the usual case checked in one match."""
_EARLIEST_BIRTH = date(1900, 1, 1)

# First two digits of GB/T 2260 address codes (provinces, plus 81/82/83 used by residence permits
# for Hong Kong, Macao and Taiwan residents). Checking the province catches most mistyped codes
# without shipping the full, yearly-changing county list.
_PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip


class DisabilityCategory(IntEnum):
    """Disability category, the 19th character of a certificate number."""

    VISUAL = 1
    HEARING = 2
    SPEECH = 3
    PHYSICAL = 4
    INTELLECTUAL = 5
    MENTAL = 6
    MULTIPLE = 7

    @property
    def name_en(self) -> str:
        """English name, e.g. ``"physical"``."""
        return self.name.lower()

    @property
    def name_zh(self) -> str:
        """Chinese name, e.g. ``"肢体"``."""
        return _CATEGORY_ZH[self]


_CATEGORY_ZH: dict[DisabilityCategory, str] = {
    DisabilityCategory.VISUAL: "视力",
    DisabilityCategory.HEARING: "听力",
    DisabilityCategory.SPEECH: "言语",
    DisabilityCategory.PHYSICAL: "肢体",
    DisabilityCategory.INTELLECTUAL: "智力",
    DisabilityCategory.MENTAL: "精神",
    DisabilityCategory.MULTIPLE: "多重",
}
_CATEGORY_LIST_EN = ", ".join(f"{c.value} {c.name_en}" for c in DisabilityCategory)
_CATEGORY_LIST_ZH = "、".join(f"{c.value}{c.name_zh}" for c in DisabilityCategory)
_GRADES = frozenset({1, 2, 3, 4})


class InvalidCertificate(ValueError):
    """A resident ID or certificate number was rejected; ``part`` says which part is wrong."""

    def __init__(self, part: CertificatePart, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.part: CertificatePart = part
        self.message = message
        self.message_zh = message_zh


@dataclass(frozen=True, slots=True)
class _Label:
    """How the checked value is named in error messages (it differs for IDs and certificates)."""

    en: str
    zh: str


_RESIDENT_ID = _Label("resident ID", "身份证号")
_CERTIFICATE = _Label("certificate number", "残疾证号")


@dataclass(frozen=True, slots=True, repr=False)
class ResidentId:
    """A validated, normalised 18-character resident ID."""

    value: str
    address_code: str
    birth_date: date
    sex: Sex

    def __repr__(self) -> str:
        # repr ends up in logs and tracebacks, which must not carry personal data in clear.
        return f"ResidentId({mask_certificate(self.value)!r})"


class SevereRule(BaseModel):
    """Which certificates count as severe (重度).

    Nationally grades 1–2 are severe; some localities also count intellectual or mental
    disability of any grade for care subsidies, so this is configuration rather than code.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    grades: frozenset[int] = Field(default=frozenset({1, 2}), description="Grades counted as severe.")
    also_categories_any_grade: frozenset[int] = Field(
        default=frozenset(),
        description="Categories counted as severe whatever their grade (e.g. 5 intellectual, 6 mental).",
    )

    @field_validator("grades")
    @classmethod
    def _grades_in_range(cls, value: frozenset[int]) -> frozenset[int]:
        bad = sorted(value - _GRADES)
        if bad:
            raise ValueError(f"severe grades must be within 1–4, got {bad}")
        return value

    @field_validator("also_categories_any_grade")
    @classmethod
    def _categories_in_range(cls, value: frozenset[int]) -> frozenset[int]:
        bad = sorted(v for v in value if v not in DisabilityCategory._value2member_map_)
        if bad:
            raise ValueError(f"categories must be within 1–7 ({_CATEGORY_LIST_EN}), got {bad}")
        return value

    def is_severe(self, category: int, grade: int) -> bool:
        """Whether a person with this category and grade counts as severe under this rule."""
        if category not in DisabilityCategory._value2member_map_:
            raise ValueError(f"category must be within 1–7, got {category}")
        if grade not in _GRADES:
            raise ValueError(f"grade must be within 1–4, got {grade}")
        return grade in self.grades or category in self.also_categories_any_grade


@dataclass(frozen=True, slots=True, repr=False)
class Certificate:
    """A validated, normalised 20-character second-generation disability certificate number."""

    value: str
    resident_id: ResidentId
    category: DisabilityCategory
    grade: int

    @property
    def category_name(self) -> str:
        """English category name, e.g. ``"physical"``."""
        return self.category.name_en

    @property
    def category_name_zh(self) -> str:
        """Chinese category name, e.g. ``"肢体"``."""
        return self.category.name_zh

    @property
    def masked(self) -> str:
        """The number as it may appear in outputs (see :func:`mask_certificate`)."""
        return mask_certificate(self.value)

    def is_severe(self, rule: SevereRule) -> bool:
        """Whether this certificate counts as severe under ``rule``."""
        return rule.is_severe(self.category, self.grade)

    def __repr__(self) -> str:
        return f"Certificate({self.masked!r}, category={self.category.name_en}, grade={self.grade})"


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of a resident ID."""
    if len(first17) != len(_WEIGHTS) or not set(first17) <= _DIGITS:
        raise ValueError(f"expected 17 ASCII digits, got {len(first17)} characters")
    # Over the ASCII codes in C (map), not int() per digit in a generator: ~4x less per check, and the
    # check runs for every registration and every imported row.
    total = sum(map(operator.mul, first17.encode("ascii"), _WEIGHTS)) - _WEIGHTED_ZEROS
    return _CHECK_CHARS[total % 11]


def make_resident_id(address_code: str, birth: date, sequence: int) -> str:
    """Build an 18-character resident ID with its check character (for demo data and tests).

    ``sequence`` is 1–999; odd numbers give a male ID, even numbers a female one.
    """
    if len(address_code) != 6 or not set(address_code) <= _DIGITS:
        raise ValueError(f"address code must be 6 digits, got {address_code!r}")
    if not 1 <= sequence <= 999:
        raise ValueError(f"sequence must be within 1–999, got {sequence}")
    if birth < _EARLIEST_BIRTH:
        raise ValueError(f"birth date must not be before 1900, got {birth.isoformat()}")
    first17 = f"{address_code}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}"
    return first17 + check_character(first17)


def validate_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-character resident ID and return it normalised (trimmed, upper-case X).

    ``today`` bounds the birth date; it defaults to the local date. Raises
    :class:`InvalidCertificate` naming the wrong part.
    """
    text = _normalise(value)
    _check_length(text, RESIDENT_ID_LENGTH, _RESIDENT_ID)
    _check_characters(text, _RESIDENT_ID)
    return _parse_resident_id(text, _RESIDENT_ID, today or date.today())


def validate_certificate_number(value: str, *, today: date | None = None) -> Certificate:
    """Validate a 20-character disability certificate number and return it normalised.

    ``today`` bounds the birth date; it defaults to the local date. Raises
    :class:`InvalidCertificate` naming the wrong part.
    """
    text = _normalise(value)
    _check_length(text, CERTIFICATE_LENGTH, _CERTIFICATE)
    _check_characters(text, _CERTIFICATE)
    resident_id = _parse_resident_id(text[:RESIDENT_ID_LENGTH], _CERTIFICATE, today or date.today())

    category_ch, grade_ch = text[18], text[19]
    if int(category_ch) not in DisabilityCategory._value2member_map_:
        raise InvalidCertificate(
            "category",
            f"{_CERTIFICATE.en}: category digit '{category_ch}' is not 1–7 ({_CATEGORY_LIST_EN})",
            f"{_CERTIFICATE.zh}残疾类别码'{category_ch}'不在1–7之间（{_CATEGORY_LIST_ZH}）",
        )
    if int(grade_ch) not in _GRADES:
        raise InvalidCertificate(
            "grade",
            f"{_CERTIFICATE.en}: grade digit '{grade_ch}' is not 1–4 (1 most severe, 4 least severe)",
            f"{_CERTIFICATE.zh}残疾等级码'{grade_ch}'不在1–4之间（1级最重，4级最轻）",
        )
    return Certificate(
        value=text,
        resident_id=resident_id,
        category=DisabilityCategory(int(category_ch)),
        grade=int(grade_ch),
    )


def mask_certificate(value: str) -> str:
    """Keep the first 6 and last 2 characters and replace the rest with ``*``.

    Values too short to keep anything hidden are masked completely.
    """
    text = value.strip()
    if len(text) <= 8:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 8) + text[-2:]


def mask_name(name: str) -> str:
    """Keep the first character of a name and put two ``*`` after it, whatever its length
    (张三 → 张**, 张三丰 → 张**, 欧阳娜娜 → 欧**): a masked name does not tell how long it is."""
    text = name.strip()
    if not text:
        return ""
    return text[0] + "**"


def _normalise(value: str) -> str:
    # NFKC turns full-width digits and Ｘ, which Chinese input methods often produce, into ASCII;
    # ASCII text is NFKC already.
    text = value if value.isascii() else unicodedata.normalize("NFKC", value)
    return text.strip().upper()


def _check_length(text: str, expected: int, label: _Label) -> None:
    if len(text) != expected:
        raise InvalidCertificate(
            "length",
            f"{label.en} must be {expected} characters, got {len(text)}",
            f"{label.zh}应为{expected}位，实际为{len(text)}位",
        )


def _check_characters(text: str, label: _Label) -> None:
    """Only position 18 (the resident ID's check character) may be X; the rest must be digits."""
    if _WELL_FORMED.fullmatch(text):
        return  # the usual case; the loop below names the first wrong character
    for index, ch in enumerate(text):
        position = index + 1
        if position == RESIDENT_ID_LENGTH:
            if ch not in _DIGITS and ch != "X":
                raise InvalidCertificate(
                    "characters",
                    f"{label.en}: character {position} is {ch!r} but must be a digit or X",
                    f"{label.zh}第{position}位为'{ch}'，应为数字或X",
                )
        elif ch not in _DIGITS:
            raise InvalidCertificate(
                "characters",
                f"{label.en}: character {position} is {ch!r} but must be a digit",
                f"{label.zh}第{position}位为'{ch}'，应为数字",
            )


def _parse_resident_id(text: str, label: _Label, today: date) -> ResidentId:
    """Check the parts of an 18-character ID whose length and characters are already known good."""
    address_code, birth_text, sequence_text, check = text[:6], text[6:14], text[14:17], text[17]

    if address_code[:2] not in _PROVINCE_CODES:
        raise InvalidCertificate(
            "address_code",
            f"{label.en}: address code '{address_code}' does not start with a known province code "
            "(GB/T 2260)",
            f"{label.zh}地址码'{address_code}'的省级代码无效（GB/T 2260）",
        )

    try:
        birth = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError:
        raise InvalidCertificate(
            "birth_date",
            f"{label.en}: birth date '{birth_text}' is not a real calendar date",
            f"{label.zh}出生日期'{birth_text}'不是有效日期",
        ) from None
    if birth < _EARLIEST_BIRTH:
        raise InvalidCertificate(
            "birth_date",
            f"{label.en}: birth date '{birth_text}' is before 1900",
            f"{label.zh}出生日期'{birth_text}'早于1900年",
        )
    if birth > today:
        raise InvalidCertificate(
            "birth_date",
            f"{label.en}: birth date '{birth_text}' is in the future",
            f"{label.zh}出生日期'{birth_text}'晚于今天",
        )

    if sequence_text == "000":
        raise InvalidCertificate(
            "sequence",
            f"{label.en}: sequence '000' is not allowed (sequence numbers start at 001)",
            f"{label.zh}顺序码不能为'000'（顺序码从001开始）",
        )

    expected = check_character(text[:17])
    if check != expected:
        raise InvalidCertificate(
            "check_digit",
            f"{label.en}: check character is '{check}' but should be '{expected}' (ISO 7064 MOD 11-2)",
            f"{label.zh}校验位为'{check}'，应为'{expected}'（ISO 7064 MOD 11-2）",
        )

    return ResidentId(
        value=text,
        address_code=address_code,
        birth_date=birth,
        sex="male" if int(sequence_text) % 2 else "female",
    )
