"""The federation's service catalogue: for each coded need, the services that answer it.

An entry says which service (code, Chinese and English name) answers which need, in which part of
the personal plan (protection 保障服务 or income 发展增收), which department delivers it and how many
days after the home visit it is due by default. Entries are added, changed and retired (never
deleted: items already planned keep their service code). :func:`propose` turns a visit's needs into
proposed plan items through the active entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

from services.registry.domain.vocabulary import NEEDS
from shared.catalogue import EventPayload
from shared.catalogue.people import PlanKind
from shared.catalogue.service_catalogue import ServiceAdded, ServiceChanged, ServiceRetired
from shared.errors import AlreadyExists, DomainRuleViolated, InvalidInput


def service_stream_id(code: str) -> str:
    """One stream per catalogue entry."""
    return f"service-{code}"


@dataclass(frozen=True)
class Service:
    """A catalogue entry's state."""

    code: str
    name_zh: str
    name_en: str
    need: str
    part: PlanKind
    responsible_department: str
    default_days: int
    retired: bool = False


@dataclass(frozen=True)
class ServiceValues:
    """What an officer gives when adding or changing an entry (the code aside)."""

    name_zh: str
    name_en: str
    need: str
    part: PlanKind
    responsible_department: str
    default_days: int


def evolve(state: Service | None, event: EventPayload) -> Service:
    """Apply one event to a catalogue entry."""
    return _apply(event, state)


@singledispatch
def _apply(event: EventPayload, state: Service | None) -> Service:
    raise TypeError(f"a service stream cannot hold {type(event).__name__}")


@_apply.register(ServiceAdded)
@_apply.register(ServiceChanged)
def _(event: ServiceAdded | ServiceChanged, state: Service | None) -> Service:
    return Service(event.code, event.name_zh, event.name_en, event.need, event.part,
                   event.responsible_department, event.default_days)


@_apply.register
def _(event: ServiceRetired, state: Service) -> Service:
    return Service(**{**state.__dict__, "retired": True})


def _check(values: ServiceValues, known_departments: set[str]) -> None:
    if values.need not in NEEDS:
        raise InvalidInput(f"unknown need code {values.need!r}; known: {', '.join(NEEDS)}", field="need")
    if values.responsible_department not in known_departments:
        raise InvalidInput(f"unknown department {values.responsible_department!r}",
                           field="responsible_department")
    if not values.name_zh.strip():
        raise InvalidInput("a service needs a Chinese name", field="name_zh")
    if not values.name_en.strip():
        raise InvalidInput("a service needs an English name", field="name_en")
    if not 1 <= values.default_days <= 366:
        raise InvalidInput(f"default days {values.default_days} must be 1 to 366", field="default_days")


def _entry(code: str, values: ServiceValues) -> dict[str, object]:
    return {"code": code, "name_zh": values.name_zh.strip(), "name_en": values.name_en.strip(),
            "need": values.need, "part": values.part, "responsible_department": values.responsible_department,
            "default_days": values.default_days}


def add(state: Service | None, code: str, values: ServiceValues, *, known_departments: set[str]
        ) -> list[EventPayload]:
    """Enter a new service (a retired code is not reused: its items still name it)."""
    if state is not None:
        what = "retired" if state.retired else "in the catalogue"
        raise AlreadyExists(f"service {code} is {what} already", field="code")
    _check(values, known_departments)
    return [ServiceAdded.model_validate(_entry(code, values))]


def change(state: Service, values: ServiceValues, *, known_departments: set[str]) -> list[EventPayload]:
    """Change an active entry; only items proposed from now on see the new values."""
    if state.retired:
        raise DomainRuleViolated(f"service {state.code} is retired: it cannot change")
    _check(values, known_departments)
    entry = _entry(state.code, values)
    if entry == _entry(state.code, ServiceValues(state.name_zh, state.name_en, state.need, state.part,
                                                 state.responsible_department, state.default_days)):
        raise DomainRuleViolated(f"service {state.code} has these values already")
    return [ServiceChanged.model_validate(entry)]


def retire(state: Service, *, reason: str) -> list[EventPayload]:
    """Withdraw an entry: it is proposed no more (once)."""
    if state.retired:
        raise DomainRuleViolated(f"service {state.code} is retired already")
    return [ServiceRetired(code=state.code, reason=reason.strip())]
