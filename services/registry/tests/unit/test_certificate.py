"""Resident ID and disability certificate number validation, masking and the severe rule."""

from datetime import date

import pytest
from pydantic import ValidationError

from services.registry.domain.certificate import (
    Certificate,
    DisabilityCategory,
    InvalidCertificate,
    SevereRule,
    check_character,
    make_resident_id,
    mask_certificate,
    mask_name,
    validate_certificate_number,
    validate_resident_id,
)

pytestmark = pytest.mark.unit

# Fixed so the "future birth date" cases do not depend on when the tests run.
TODAY = date(2025, 6, 1)
KNOWN_ID = "11010519491231002X"


def _with_check(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.mark.parametrize(
    ("raw", "expected_value", "birth", "sex"),
    [
        pytest.param(KNOWN_ID, KNOWN_ID, date(1949, 12, 31), "female", id="known-valid"),
        pytest.param("11010519491231002x", KNOWN_ID, date(1949, 12, 31), "female", id="lowercase-x"),
        pytest.param(f"  {KNOWN_ID}\n", KNOWN_ID, date(1949, 12, 31), "female", id="surrounding-space"),
        pytest.param(
            "１１０１０５１９４９１２３１００２Ｘ", KNOWN_ID, date(1949, 12, 31), "female", id="full-width"
        ),
        pytest.param(
            _with_check("51140319800229001"), None, date(1980, 2, 29), "male", id="leap-day-odd-sequence"
        ),
        pytest.param(_with_check("51140320250601002"), None, TODAY, "female", id="born-today"),
        pytest.param(_with_check("51140319000101001"), None, date(1900, 1, 1), "male", id="earliest-date"),
    ],
)
def test_valid_resident_ids(raw: str, expected_value: str | None, birth: date, sex: str) -> None:
    rid = validate_resident_id(raw, today=TODAY)
    assert rid.value == (expected_value or raw)
    assert rid.address_code == rid.value[:6]
    assert rid.birth_date == birth
    assert rid.sex == sex


@pytest.mark.parametrize(
    ("raw", "part", "fragment"),
    [
        pytest.param("11010519491231002", "length", "must be 18 characters, got 17", id="too-short"),
        pytest.param("11010519491231002X1", "length", "must be 18 characters, got 19", id="too-long"),
        pytest.param("", "length", "got 0", id="empty"),
        pytest.param("1101051949123100AX", "characters", "character 17 is 'A'", id="letter"),
        pytest.param("110105194912310021".replace("1", "X", 1), "characters", "character 1", id="x-first"),
        pytest.param("11010519491231002Y", "characters", "must be a digit or X", id="bad-check-char"),
        pytest.param(
            _with_check("00010519491231002"), "address_code", "known province code", id="bad-province"
        ),
        pytest.param(
            _with_check("11010519490230002"),
            "birth_date",
            "'19490230' is not a real calendar date",
            id="feb-30",
        ),
        pytest.param(
            _with_check("11010519491301002"), "birth_date", "not a real calendar date", id="month-13"
        ),
        pytest.param(
            _with_check("11010519010229002"), "birth_date", "not a real calendar date", id="1901-not-leap"
        ),
        pytest.param(_with_check("11010518991231002"), "birth_date", "before 1900", id="before-1900"),
        pytest.param(_with_check("11010520250602002"), "birth_date", "in the future", id="future"),
        pytest.param(_with_check("11010519491231000"), "sequence", "'000' is not allowed", id="sequence-000"),
        pytest.param(
            "110105194912310023",
            "check_digit",
            "check character is '3' but should be 'X' (ISO 7064 MOD 11-2)",
            id="bad-check-digit",
        ),
    ],
)
def test_invalid_resident_ids(raw: str, part: str, fragment: str) -> None:
    with pytest.raises(InvalidCertificate) as excinfo:
        validate_resident_id(raw, today=TODAY)
    assert excinfo.value.part == part
    assert fragment in str(excinfo.value)
    assert str(excinfo.value).startswith("resident ID")
    assert excinfo.value.message_zh.startswith("身份证号")


def test_invalid_certificate_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="resident ID"):
        validate_resident_id("nope", today=TODAY)


@pytest.mark.parametrize(
    ("raw", "category", "grade", "name", "name_zh"),
    [
        pytest.param(f"{KNOWN_ID}41", DisabilityCategory.PHYSICAL, 1, "physical", "肢体", id="physical-1"),
        pytest.param(f"{KNOWN_ID}14", DisabilityCategory.VISUAL, 4, "visual", "视力", id="visual-4"),
        pytest.param(f"{KNOWN_ID}23", DisabilityCategory.HEARING, 3, "hearing", "听力", id="hearing-3"),
        pytest.param(f"{KNOWN_ID}32", DisabilityCategory.SPEECH, 2, "speech", "言语", id="speech-2"),
        pytest.param(f"{KNOWN_ID}52", DisabilityCategory.INTELLECTUAL, 2, "intellectual", "智力", id="intel"),
        pytest.param(f"{KNOWN_ID}63", DisabilityCategory.MENTAL, 3, "mental", "精神", id="mental-3"),
        pytest.param(
            "11010519491231002x71", DisabilityCategory.MULTIPLE, 1, "multiple", "多重", id="lower-x"
        ),
    ],
)
def test_valid_certificates(
    raw: str, category: DisabilityCategory, grade: int, name: str, name_zh: str
) -> None:
    cert = validate_certificate_number(f" {raw} ", today=TODAY)
    assert cert.value == raw.upper()
    assert cert.resident_id.value == KNOWN_ID
    assert cert.category == category
    assert cert.grade == grade
    assert cert.category_name == name
    assert cert.category_name_zh == name_zh


@pytest.mark.parametrize(
    ("raw", "part", "message"),
    [
        pytest.param(
            f"{KNOWN_ID}4", "length", "certificate number must be 20 characters, got 19", id="19-chars"
        ),
        pytest.param(KNOWN_ID, "length", "certificate number must be 20 characters, got 18", id="bare-id"),
        pytest.param(
            f"{KNOWN_ID}4a",
            "characters",
            "certificate number: character 20 is 'A' but must be a digit",
            id="letter-grade",
        ),
        pytest.param(
            f"{KNOWN_ID}-1",
            "characters",
            "certificate number: character 19 is '-' but must be a digit",
            id="dash",
        ),
        pytest.param(
            "110105194912310023" + "41",
            "check_digit",
            "certificate number: check character is '3' but should be 'X' (ISO 7064 MOD 11-2)",
            id="bad-check-digit",
        ),
        pytest.param(
            _with_check("11010519490230002") + "41",
            "birth_date",
            "certificate number: birth date '19490230' is not a real calendar date",
            id="feb-30",
        ),
        pytest.param(
            _with_check("11010520300101002") + "41",
            "birth_date",
            "certificate number: birth date '20300101' is in the future",
            id="future",
        ),
        pytest.param(
            f"{KNOWN_ID}01",
            "category",
            "certificate number: category digit '0' is not 1–7 (1 visual, 2 hearing, 3 speech, "
            "4 physical, 5 intellectual, 6 mental, 7 multiple)",
            id="category-0",
        ),
        pytest.param(f"{KNOWN_ID}81", "category", "category digit '8' is not 1–7", id="category-8"),
        pytest.param(
            f"{KNOWN_ID}40", "grade", "certificate number: grade digit '0' is not 1–4", id="grade-0"
        ),
        pytest.param(f"{KNOWN_ID}45", "grade", "grade digit '5' is not 1–4", id="grade-5"),
    ],
)
def test_invalid_certificates(raw: str, part: str, message: str) -> None:
    with pytest.raises(InvalidCertificate) as excinfo:
        validate_certificate_number(raw, today=TODAY)
    assert excinfo.value.part == part
    assert message in str(excinfo.value)
    assert excinfo.value.message_zh.startswith("残疾证号")


def test_chinese_messages_name_the_part() -> None:
    with pytest.raises(InvalidCertificate) as excinfo:
        validate_certificate_number("110105194912310023" + "41", today=TODAY)
    assert excinfo.value.message_zh == "残疾证号校验位为'3'，应为'X'（ISO 7064 MOD 11-2）"

    with pytest.raises(InvalidCertificate) as excinfo:
        validate_certificate_number(f"{KNOWN_ID}81", today=TODAY)
    assert "残疾类别码'8'" in excinfo.value.message_zh


def test_default_today_rejects_future_and_accepts_past() -> None:
    # Without an explicit ``today`` the local date is used.
    assert validate_resident_id(KNOWN_ID).birth_date == date(1949, 12, 31)
    with pytest.raises(InvalidCertificate) as excinfo:
        validate_resident_id(_with_check("11010529991231002"))
    assert excinfo.value.part == "birth_date"


def test_reprs_do_not_leak_the_number() -> None:
    cert = validate_certificate_number(f"{KNOWN_ID}41", today=TODAY)
    assert KNOWN_ID not in repr(cert)
    assert KNOWN_ID not in repr(cert.resident_id)
    assert "110105" in repr(cert)


@pytest.mark.parametrize(
    ("address_code", "birth", "sequence", "sex"),
    [
        ("110105", date(1949, 12, 31), 2, "female"),
        ("511403", date(1980, 2, 29), 1, "male"),
        ("511403", date(2001, 7, 15), 999, "male"),
        ("510100", date(1900, 1, 1), 10, "female"),
    ],
)
def test_make_resident_id_round_trips(address_code: str, birth: date, sequence: int, sex: str) -> None:
    value = make_resident_id(address_code, birth, sequence)
    rid = validate_resident_id(value, today=TODAY)
    assert rid.value == value
    assert rid.address_code == address_code
    assert rid.birth_date == birth
    assert rid.sex == sex
    assert value[14:17] == f"{sequence:03d}"
    cert = validate_certificate_number(value + "52", today=TODAY)
    assert isinstance(cert, Certificate)


def test_make_resident_id_reproduces_the_known_id() -> None:
    assert make_resident_id("110105", date(1949, 12, 31), 2) == KNOWN_ID


@pytest.mark.parametrize(
    ("address_code", "birth", "sequence"),
    [
        ("11010", date(1949, 12, 31), 2),
        ("11010A", date(1949, 12, 31), 2),
        ("110105", date(1949, 12, 31), 0),
        ("110105", date(1949, 12, 31), 1000),
        ("110105", date(1899, 12, 31), 1),
    ],
)
def test_make_resident_id_rejects_bad_input(address_code: str, birth: date, sequence: int) -> None:
    with pytest.raises(ValueError):
        make_resident_id(address_code, birth, sequence)


@pytest.mark.parametrize(
    ("category", "grade", "default", "with_intellectual_mental"),
    [
        (4, 1, True, True),
        (4, 2, True, True),
        (4, 3, False, False),
        (4, 4, False, False),
        (1, 3, False, False),
        (5, 3, False, True),
        (5, 4, False, True),
        (6, 4, False, True),
        (6, 1, True, True),
        (7, 4, False, False),
    ],
)
def test_severe_rule(category: int, grade: int, default: bool, with_intellectual_mental: bool) -> None:
    assert SevereRule().is_severe(category, grade) is default
    local = SevereRule(also_categories_any_grade=frozenset({5, 6}))
    assert local.is_severe(category, grade) is with_intellectual_mental


def test_severe_rule_from_configuration() -> None:
    # Configuration arrives as JSON lists; pydantic turns them into frozensets.
    rule = SevereRule.model_validate({"grades": [1], "also_categories_any_grade": [6]})
    assert rule.is_severe(4, 1)
    assert not rule.is_severe(4, 2)
    assert rule.is_severe(6, 4)
    cert = validate_certificate_number(f"{KNOWN_ID}62", today=TODAY)
    assert cert.is_severe(rule)
    assert not validate_certificate_number(f"{KNOWN_ID}42", today=TODAY).is_severe(rule)


@pytest.mark.parametrize(
    "config",
    [{"grades": [0]}, {"grades": [5]}, {"also_categories_any_grade": [8]}, {"unknown": 1}],
)
def test_severe_rule_rejects_bad_configuration(config: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SevereRule.model_validate(config)


@pytest.mark.parametrize(("category", "grade"), [(0, 1), (8, 1), (4, 0), (4, 5)])
def test_severe_rule_rejects_out_of_range_input(category: int, grade: int) -> None:
    with pytest.raises(ValueError):
        SevereRule().is_severe(category, grade)


def test_severe_rule_is_frozen() -> None:
    rule = SevereRule()
    with pytest.raises(ValidationError):
        rule.grades = frozenset({1})  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (f"{KNOWN_ID}41", "110105************41"),
        (KNOWN_ID, "110105**********2X"),
        (f" {KNOWN_ID} ", "110105**********2X"),
        ("12345678", "********"),
        ("", ""),
    ],
)
def test_mask_certificate(value: str, masked: str) -> None:
    assert mask_certificate(value) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三丰", "张**"), ("张三", "张**"), ("张", "张**"), (" 李四 ", "李**"), ("", ""), ("欧阳娜娜", "欧**")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def _reference_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 as the standard writes it: the weights are 2^(18-i) mod 11."""
    total = sum(int(ch) * (2 ** (17 - i) % 11) for i, ch in enumerate(first17))
    return "10X98765432"[total % 11]


def test_check_character_agrees_with_the_standard_on_every_remainder() -> None:
    # Each of the 11 remainders reached, and the extremes (all 0s, all 9s).
    seen = set()
    for first17 in ["0" * 17, "9" * 17, *(f"{n:017d}" for n in range(0, 10**17, 10**17 // 997))]:
        expected = _reference_check_character(first17)
        assert check_character(first17) == expected
        seen.add(expected)
    assert seen == set("10X98765432")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        # Digits that are not ASCII (and that NFKC leaves as they are) are refused by name and place.
        pytest.param("1101051949123١002X41", "character 14 is '١' but must be a digit", id="arabic-indic-digit"),
        pytest.param("11010519491231002X4x", "character 20 is 'X' but must be a digit", id="x-after-18"),
        pytest.param("X1010519491231002X41", "character 1 is 'X' but must be a digit", id="x-first"),
    ],
)
def test_characters_other_than_ascii_digits_are_named(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidCertificate) as excinfo:
        validate_certificate_number(raw, today=TODAY)
    assert excinfo.value.part == "characters"
    assert fragment in str(excinfo.value)


def test_check_character_refuses_non_ascii_digits() -> None:
    with pytest.raises(ValueError, match="17 ASCII digits"):
        check_character("1101051949123١002")
