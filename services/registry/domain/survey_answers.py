"""A visit's answers checked against the form version they were given on, and the needs they record.

Every refusal is a 422 naming the item (``answers.<code>``): an unknown item, a value of the wrong
type, an unknown option, a required item left out while shown, an item answered although a skip
rule hides it, a text too long. Pure: the form version is an argument.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from services.registry.domain.survey_form import YESNO_VALUES, FormVersion
from shared.catalogue.surveys import MAX_TEXT, SurveyItem
from shared.errors import InvalidInput

Answer = str | list[str] | bool | int | float
"""A checked answer: an option code, option codes, yes/no, a number, an ISO date or a text."""


def check_answers(form: FormVersion, answers: dict[str, Any], *, complete: bool) -> dict[str, Answer]:
    """The answers, checked and normalised, in the form's order.

    ``complete``: every required item that is shown must be answered (a survey given on a form);
    without it (the old three-question body) only what is given is checked.
    """
    items = form.items()
    known = {item.code for item in items}
    for code in answers:
        if code not in known:
            raise InvalidInput(f"unknown item {code!r}: survey form {form.form_id} version {form.version} "
                               "has no such item", field=f"answers.{code}")
    checked: dict[str, Answer] = {}
    for item in items:
        field = f"answers.{item.code}"
        shown = _shown(item, checked)
        given = answers.get(item.code)
        if given is None or given == "" or given == []:
            if shown and item.required and complete:
                raise InvalidInput(f"item {item.code} ({item.label_zh}) is required", field=field)
            continue
        if not shown:
            assert item.show_if is not None
            raise InvalidInput(f"item {item.code} is asked only when item {item.show_if.item} is "
                               f"{' or '.join(item.show_if.any_of)}: leave it out", field=field)
        checked[item.code] = _value(item, given, field)
    return checked


def _shown(item: SurveyItem, answered: dict[str, Answer]) -> bool:
    if item.show_if is None:
        return True
    answer = answered.get(item.show_if.item)  # absent when not answered, or itself hidden
    if answer is None:
        return False
    if isinstance(answer, bool):
        values = [YESNO_VALUES[0] if answer else YESNO_VALUES[1]]
    elif isinstance(answer, list):
        values = answer
    else:
        values = [str(answer)]
    return any(v in item.show_if.any_of for v in values)


def _value(item: SurveyItem, given: Any, field: str) -> Answer:
    kind = item.answer_type
    if kind == "yesno":
        if not isinstance(given, bool):
            raise InvalidInput(f"item {item.code} is answered yes or no (true / false), not {given!r}", field=field)
        return given
    if kind == "number":
        if isinstance(given, bool) or not isinstance(given, int | float) or not math.isfinite(given):
            raise InvalidInput(f"item {item.code} is answered with a number, not {given!r}", field=field)
        if given < 0:
            raise InvalidInput(f"item {item.code}: {given} is negative", field=field)
        return given
    if kind == "date":
        try:
            return date.fromisoformat(given).isoformat() if isinstance(given, str) else _no_date(item, given)
        except ValueError:
            raise InvalidInput(f"item {item.code} is answered with a date YYYY-MM-DD, not {given!r}",
                               field=field) from None
    codes = [o.code for o in item.options]
    if kind == "choice":
        if not isinstance(given, str):
            raise InvalidInput(f"item {item.code} is answered with one option code, not {given!r}", field=field)
        return _option(item, given, codes, field)
    if kind == "multi":
        if not isinstance(given, list) or not all(isinstance(v, str) for v in given):
            raise InvalidInput(f"item {item.code} is answered with a list of option codes, not {given!r}",
                               field=field)
        if len(set(given)) != len(given):
            raise InvalidInput(f"item {item.code}: an option is given twice", field=field)
        return [_option(item, v, codes, field) for v in given]
    if not isinstance(given, str):
        raise InvalidInput(f"item {item.code} is answered with a text, not {given!r}", field=field)
    limit = item.max_length or MAX_TEXT
    if len(given) > limit:
        raise InvalidInput(f"item {item.code}: the text has {len(given)} characters, at most {limit}", field=field)
    return given


def _no_date(item: SurveyItem, given: Any) -> str:
    raise ValueError(f"{item.code}: {given!r}")


def _option(item: SurveyItem, value: str, codes: list[str], field: str) -> str:
    if value not in codes:
        raise InvalidInput(f"item {item.code} has no option {value!r}; its options: {', '.join(codes)}", field=field)
    return value


def needs_of(form: FormVersion, answers: dict[str, Answer]) -> list[str]:
    """The need codes a reached visit records: each "still needed" item answered yes."""
    return sorted({item.needs_code for item in form.items() if item.needs_code and answers.get(item.code) is True})
