"""The signing cut-over: unsigned events written before an instance signed are accepted (and said
to be "unsigned (before cut-over)"), unsigned ones after it are refused, in the database log and
in JetStream, as the operator recorded it in the trust folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli import record_cutover
from shared.eventstore.store import EventStore
from shared.eventstore.verify import verify_log
from shared.messaging.admission import admit
from shared.messaging.streams import declare_streams
from shared.messaging.subjects import event_subject, stream_name
from shared.signing import CutOver, KeyRing, write_private
from shared.testing.contracts import support as s
from shared.testing.envelopes import envelope_for

from .test_health import build

pytestmark = pytest.mark.integration


async def test_unsigned_events_before_the_cut_over_are_accepted_and_after_it_refused(
    database_url: str, tmp_path: Path
) -> None:
    runtime = build(database_url, "nats://127.0.0.1:1", "cutover", tmp_path)
    await s.create_schema(runtime.engine)
    unsigned = EventStore(s.SERVICE, s.DEPARTMENT)  # as the release before signing wrote them
    async with runtime.engine.begin() as conn:
        await unsigned.append(conn, "orgunit-1", [s.unit(1), s.unit(2)], s.context())
        await unsigned.append(conn, "orgunit-2", [s.unit(3)], s.context())
    keyring = runtime.settings.load_keyring()
    assert (await verify_log(runtime.engine, keyring=keyring))[1] == [
        "orgunit-1 v1: not signed (altered, or written without the service's key)",
        "orgunit-1 v2: not signed (altered, or written without the service's key)",
        "orgunit-2 v1: not signed (altered, or written without the service's key)"]

    cut = await record_cutover(runtime, offline=True)  # the operator's step, once signing is on
    assert (cut.source, cut.position, cut.sequence) == (runtime.store.source, 3, 0)
    write_private(runtime.settings.effective_trust_dir() / cut.file_name, cut.to_json())
    async with runtime.engine.begin() as conn:
        await runtime.store.append(conn, "orgunit-1", [s.unit(4)], s.context())  # signed from now on
        await unsigned.append(conn, "orgunit-2", [s.unit(5)], s.context())  # a forgery, or a stray old writer
    keyring = runtime.settings.load_keyring()
    checked, problems = await verify_log(runtime.engine, keyring=keyring)
    assert (checked, keyring.unsigned_before_cutover) == (5, 3)
    assert problems == ["orgunit-2 v2: not signed, and not before its signing cut-over (altered, or written "
                        "without the service's key)"]
    await runtime.engine.dispose()


def test_an_unsigned_message_is_admitted_only_at_or_below_its_publishers_cut_over_sequence(tmp_path: Path) -> None:
    namespace, source = "cutover", f"qingdan/{s.SERVICE}/{s.DEPARTMENT}"
    stream = stream_name(namespace, s.SERVICE)
    cut = CutOver(source, stream, sequence=5, position=3, recorded_at="2026-12-01T08:00:00+00:00")
    keyring = KeyRing(folder=tmp_path)  # the cut-over installed after the reader started: found on demand
    write_private(tmp_path / cut.file_name, cut.to_json())

    def admitted(sequence: int, *, source: str = source, space: str = namespace) -> str | None:
        envelope = envelope_for(s.unit(1), source=source).sealed("")
        on = event_subject(space, s.SERVICE, s.DEPARTMENT, "orgunit.established")
        return admit(on, envelope.to_json(), keyring, namespace=space, service=s.SERVICE, sequence=sequence).reason

    assert admitted(5) is None and admitted(1) is None
    assert admitted(6) == "not a genuine event: not signed, and not before its signing cut-over"
    assert admitted(2, source="qingdan/contract/health") == "not a genuine event: not signed"  # no cut-over of its own
    assert admitted(2, space="elsewhere") == "not a genuine event: not signed, and not before its signing cut-over"
    assert keyring.unsigned_before_cutover == 2


async def test_the_recorded_stream_sequence_is_the_publishers_last_unsigned_message(
    database_url: str, nats_url: str, run_id: str, tmp_path: Path
) -> None:
    """Not the stream's end: a signed message after it, or another publisher's, does not move it."""
    namespace = s.unique_namespace(run_id)
    runtime = build(database_url, nats_url, namespace, tmp_path)
    await s.create_schema(runtime.engine)
    await declare_streams(nats_url, namespace, [s.SERVICE])
    subject = event_subject(namespace, s.SERVICE, s.DEPARTMENT, "orgunit.established")
    mine = envelope_for(s.unit(1), source=runtime.store.source).sealed("")
    others = envelope_for(s.unit(2), source="qingdan/contract/health").sealed("")
    assert runtime.store.signer is not None
    signed = runtime.store.signer.sign(envelope_for(s.unit(3), source=runtime.store.source).sealed(""))
    async with s.jetstream(nats_url) as probe:
        for envelope in (mine, mine.model_copy(update={"id": "again"}), others, signed):
            await probe.js.publish(subject, envelope.to_json())
    cut = await record_cutover(runtime)
    assert (cut.stream, cut.sequence, cut.position) == (stream_name(namespace, s.SERVICE), 2, 0)
