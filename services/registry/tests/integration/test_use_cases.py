"""The registry's use cases through the real executor on a real database (no HTTP, no NATS):
who may do what (403), what does not exist (404), stale versions (409), bad input (422, by error
code and field), and the lookup rows the inline projection writes with the events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from functools import partial

import pytest

from services.registry.adapters.tables import departments, metadata, org_units, persons, resident_index, staff
from services.registry.application import commands as c
from services.registry.application import organisation, plans
from services.registry.application import persons as uc
from services.registry.application.deps import RegistryDeps
from services.registry.domain.certificate import SevereRule, make_resident_id
from shared.auth import Principal, Role
from shared.errors import AlreadyExists, ConcurrencyConflict, Forbidden, InvalidInput, NotFound, QingdanError
from shared.pii import MasterKey, PersonalDataVault
from shared.testing.usecases import UseCaseBench, principal

pytestmark = pytest.mark.integration

TODAY = date(2026, 3, 15)
DISTRICT, TOWNSHIP, OTHER_TOWNSHIP = "511403000000", "511403100000", "511403200000"
VILLAGE, OTHER_VILLAGE = "511403100001", "511403200001"
ADMIN = principal("admin")
OFFICER = principal("officer-1", Role.TOWNSHIP_OFFICER, department="federation", township_code=TOWNSHIP)
OUTSIDER = principal("officer-2", Role.TOWNSHIP_OFFICER, department="federation", township_code=OTHER_TOWNSHIP)
VIEWER = principal("viewer", Role.VIEWER)


def certificate(sequence: int, category: int = 1, grade: int = 1) -> str:
    """A valid certificate number: a resident ID, then category and grade."""
    return f"{make_resident_id('511403', date(1960, 5, 17), sequence)}{category}{grade}"


@pytest.fixture
async def bench(database_url: str) -> AsyncIterator[UseCaseBench]:
    async with UseCaseBench.open(database_url, [metadata], service="registry") as bench:
        yield bench


@pytest.fixture
async def deps(bench: UseCaseBench) -> RegistryDeps:
    deps = RegistryDeps(store=bench.store, vault=PersonalDataVault(MasterKey.generate()),
                        severe_rule=SevereRule(), today=lambda: TODAY)
    for cmd in (c.EstablishOrgUnit(code=DISTRICT, name="彭山区", level="district"),
                c.EstablishOrgUnit(code=TOWNSHIP, name="凤鸣街道", level="township", parent_code=DISTRICT),
                c.EstablishOrgUnit(code=OTHER_TOWNSHIP, name="谢家街道", level="township", parent_code=DISTRICT),
                c.EstablishOrgUnit(code=VILLAGE, name="一村", level="village", parent_code=TOWNSHIP),
                c.EstablishOrgUnit(code=OTHER_VILLAGE, name="二村", level="village", parent_code=OTHER_TOWNSHIP)):
        await bench.run(partial(organisation.establish_org_unit, deps=deps, principal=ADMIN, cmd=cmd), buffered=True)
    await bench.run(lambda uow: organisation.register_department(
        uow, deps, ADMIN, c.RegisterDepartment(code="health", name="卫健局")), buffered=True)
    return deps


async def register(bench: UseCaseBench, deps: RegistryDeps, who: Principal = OFFICER, sequence: int = 1,
                   village: str = VILLAGE) -> dict[str, object]:
    cmd = c.RegisterPerson(certificate_number=certificate(sequence), name="张三", address="一村1号",
                           village_code=village, hardship=["living_alone"])
    return await bench.run(lambda uow: uc.register_person(uow, deps, who, cmd), buffered=True)


def assert_error(error: QingdanError, kind: type[QingdanError], field: str | None = None) -> None:
    assert isinstance(error, kind), repr(error)
    assert error.code == kind.code
    assert error.field == field


async def test_reference_data_writes_its_lookup_rows_with_the_events(bench: UseCaseBench, deps: RegistryDeps) -> None:
    assert {r["code"]: r["level"] for r in await bench.rows(org_units)} == {
        DISTRICT: "district", TOWNSHIP: "township", OTHER_TOWNSHIP: "township", VILLAGE: "village",
        OTHER_VILLAGE: "village"}
    assert await bench.rows(departments) == [{"code": "health", "name": "卫健局", "org_unit_code": None}]
    await bench.run(lambda uow: organisation.enrol_staff(uow, deps, ADMIN, c.EnrolStaff(
        staff_id="officer-1", display_name="李四", department="health",
        roles=[Role.TOWNSHIP_OFFICER, Role.DEPARTMENT_OFFICER], township_code=TOWNSHIP)), buffered=True)
    [row] = await bench.rows(staff)
    assert json.loads(row["roles"]) == ["department_officer", "township_officer"]
    assert (await bench.stream("staff-officer-1")).version == 1


async def test_registering_writes_the_person_and_resident_index_rows(bench: UseCaseBench, deps: RegistryDeps) -> None:
    result = await register(bench, deps)
    person_id = str(result["person_id"])
    assert result["version"] == 1
    [row] = await bench.rows(persons, person_id=person_id)
    assert (row["township_code"], row["village_code"], row["version"]) == (TOWNSHIP, VILLAGE, 1)
    assert (row["category"], row["grade"], row["severe"], row["hardship"]) == (1, 1, True, "living_alone")
    assert row["registered_on"] == TODAY
    assert "张三" not in row["sealed"] and set(json.loads(row["sealed"])) >= {"name", "certificate_number"}
    assert [r["person_id"] for r in await bench.rows(resident_index)] == [person_id]
    assert (await bench.stream(f"person-{person_id}")).version == 1


async def test_a_change_updates_the_row_and_version(bench: UseCaseBench, deps: RegistryDeps) -> None:
    person_id = str((await register(bench, deps))["person_id"])
    result = await bench.run(lambda uow: uc.relocate_person(
        uow, deps, OFFICER, person_id, c.RelocatePerson(village_code=OTHER_VILLAGE, expected_version=1)),
        buffered=True)
    assert result == {"person_id": person_id, "version": 2}
    [row] = await bench.rows(persons, person_id=person_id)
    assert (row["township_code"], row["village_code"], row["version"]) == (OTHER_TOWNSHIP, OTHER_VILLAGE, 2)


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "direct"])
async def test_the_same_use_case_runs_buffered_or_direct(
    bench: UseCaseBench, deps: RegistryDeps, buffered: bool
) -> None:
    cmd = c.RegisterPerson(certificate_number=certificate(7), name="王五", village_code=VILLAGE)
    result = await bench.run(lambda uow: uc.register_person(uow, deps, OFFICER, cmd), buffered=buffered)
    person_id = str(result["person_id"])
    await bench.run(lambda uow: uc.set_hardship(uow, deps, OFFICER, person_id,
                                                c.SetHardship(hardship=["low_income"], expected_version=1)),
                    buffered=buffered)
    [row] = await bench.rows(persons, person_id=person_id)
    assert (row["hardship"], row["version"]) == ("low_income", 2)


async def test_duplicates_in_one_batch_are_refused(bench: UseCaseBench, deps: RegistryDeps) -> None:
    outcomes = await asyncio.gather(register(bench, deps, sequence=3), register(bench, deps, sequence=3),
                                    return_exceptions=True)
    errors = [o for o in outcomes if isinstance(o, QingdanError)]
    assert len(errors) == 1, outcomes
    assert_error(errors[0], AlreadyExists, "certificate_number")
    assert len(await bench.rows(persons)) == 1


async def test_a_registered_resident_in_a_batch_fails_alone(bench: UseCaseBench, deps: RegistryDeps) -> None:
    # The batch checks its claimed resident IDs against the table in one query at flush; a taken one
    # sends the batch through one by one, so only its own command fails, with the 409 naming the owner.
    first = await register(bench, deps, sequence=4)
    outcomes = await asyncio.gather(register(bench, deps, sequence=5), register(bench, deps, sequence=4),
                                    register(bench, deps, sequence=6), return_exceptions=True)
    assert isinstance(outcomes[0], dict) and isinstance(outcomes[2], dict), outcomes
    assert isinstance(outcomes[1], AlreadyExists) and str(first["person_id"]) in outcomes[1].message
    assert_error(outcomes[1], AlreadyExists, "certificate_number")
    assert len(await bench.rows(persons)) == 3


async def test_a_registered_resident_alone_gets_its_own_refusal(bench: UseCaseBench, deps: RegistryDeps) -> None:
    # A batch leaves its claims to the table's unique key (no read first); the insert's refusal does
    # not say whose key it was, so the executor tries again reading the claims: a 409 naming the owner.
    first = await register(bench, deps, sequence=7)
    with pytest.raises(AlreadyExists) as taken:
        await register(bench, deps, sequence=7)
    assert str(first["person_id"]) in taken.value.message
    assert_error(taken.value, AlreadyExists, "certificate_number")
    assert len(await bench.rows(persons)) == 1


async def test_authorisation(bench: UseCaseBench, deps: RegistryDeps) -> None:
    with pytest.raises(Forbidden) as viewer:
        await register(bench, deps, who=VIEWER)
    assert_error(viewer.value, Forbidden)
    with pytest.raises(Forbidden):  # an officer registers only in their own township
        await register(bench, deps, who=OUTSIDER)
    person_id = str((await register(bench, deps))["person_id"])
    with pytest.raises(Forbidden):
        await bench.run(lambda uow: uc.set_hardship(uow, deps, OUTSIDER, person_id, c.SetHardship(hardship=[])),
                        buffered=True)
    with pytest.raises(Forbidden):
        await bench.run(lambda uow: organisation.register_department(
            uow, deps, OFFICER, c.RegisterDepartment(code="civil", name="民政局")), buffered=True)
    assert len(await bench.rows(persons)) == 1
    assert len(await bench.rows(departments)) == 1


async def test_not_found(bench: UseCaseBench, deps: RegistryDeps) -> None:
    with pytest.raises(NotFound) as person:
        await bench.run(lambda uow: uc.set_hardship(uow, deps, OFFICER, "nobody", c.SetHardship(hardship=[])),
                        buffered=True)
    assert_error(person.value, NotFound)
    person_id = str((await register(bench, deps))["person_id"])
    with pytest.raises(NotFound):
        await bench.run(lambda uow: plans.add_item(uow, deps, OFFICER, person_id, 2026, c.AddPlanItem(
            kind="protection", need="rehabilitation", description="康复训练", responsible_department="health",
            due_on=date(2026, 6, 1))), buffered=True)


async def test_stale_expected_version_is_a_conflict_and_writes_nothing(
    bench: UseCaseBench, deps: RegistryDeps
) -> None:
    person_id = str((await register(bench, deps))["person_id"])
    with pytest.raises(ConcurrencyConflict) as stale:
        await bench.run(lambda uow: uc.set_hardship(
            uow, deps, OFFICER, person_id, c.SetHardship(hardship=["low_income"], expected_version=0)),
            buffered=True)
    assert_error(stale.value, ConcurrencyConflict)
    assert (stale.value.expected, stale.value.actual) == (0, 1)
    [row] = await bench.rows(persons, person_id=person_id)
    assert (row["hardship"], row["version"]) == ("living_alone", 1)
    assert (await bench.stream(f"person-{person_id}")).version == 1


@pytest.mark.parametrize(("cmd", "field"), [
    (c.RegisterPerson(certificate_number="51140319600517001X11", name="x", village_code=VILLAGE),
     "certificate_number"),
    (c.RegisterPerson(certificate_number=certificate(5), name="x", village_code="511403999999"), "village_code"),
    (c.RegisterPerson(certificate_number=certificate(5), name="x", village_code=TOWNSHIP), "village_code"),
], ids=["bad-certificate", "unknown-village", "not-a-village"])
async def test_invalid_input_names_the_field_and_writes_nothing(
    bench: UseCaseBench, deps: RegistryDeps, cmd: c.RegisterPerson, field: str
) -> None:
    with pytest.raises(InvalidInput) as invalid:
        await bench.run(lambda uow: uc.register_person(uow, deps, ADMIN, cmd), buffered=True)
    assert_error(invalid.value, InvalidInput, field)
    assert await bench.rows(persons) == []
    assert await bench.rows(resident_index) == []


async def test_a_plan_goes_through_the_repository(bench: UseCaseBench, deps: RegistryDeps) -> None:
    person_id = str((await register(bench, deps))["person_id"])
    drawn = await bench.run(lambda uow: plans.draw_plan(uow, deps, OFFICER, person_id, 2026), buffered=True)
    assert drawn == {"plan_id": f"plan-{person_id}-2026", "version": 1}
    item = c.AddPlanItem(kind="protection", need="rehabilitation", description="康复训练",
                         responsible_department="nowhere", due_on=date(2026, 6, 1), expected_version=1)
    with pytest.raises(InvalidInput) as unknown:
        await bench.run(lambda uow: plans.add_item(uow, deps, OFFICER, person_id, 2026, item), buffered=True)
    assert_error(unknown.value, InvalidInput, "responsible_department")
    added = await bench.run(lambda uow: plans.add_item(
        uow, deps, OFFICER, person_id, 2026, item.model_copy(update={"responsible_department": "health"})),
        buffered=True)
    assert added["version"] == 2
    with pytest.raises(NotFound):
        await bench.run(lambda uow: plans.deliver_item(uow, deps, OFFICER, person_id, 2026, "no-such-item",
                                                       c.DeliverPlanItem(delivered_on=TODAY)), buffered=True)
