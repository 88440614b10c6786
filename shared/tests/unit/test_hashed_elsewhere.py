"""A batch planned with the content hashes its envelopes claim, its bodies hashed elsewhere (the
signature helper process), is admitted and refused exactly as one hashed here, with the same reasons."""

from __future__ import annotations

import base64
from pathlib import Path

from shared.envelope import Envelope, utcnow
from shared.messaging.admission import Admission, admit_batch, plan_batch
from shared.messaging.subjects import stream_name
from shared.signature_check import SignatureVerifier, check_batch
from shared.signing import CutOver, KeyRing, Signer

SOURCE = "qingdan/registry/federation"


def _chain(signer: Signer, stream_id: str, data: list[dict[str, object]],
           department: str = "federation") -> list[Envelope]:
    envelopes: list[Envelope] = []
    prev = ""
    for version, body in enumerate(data, start=1):
        envelope = signer.sign(Envelope(
            id=f"{stream_id}-{version}", source=SOURCE, type="orgunit.established", time=utcnow(),
            subject=stream_id, stream_id=stream_id, stream_type="orgunit", stream_version=version,
            schema_version=1, actor="a", department=department, correlation_id="c", data=body).sealed(prev))
        prev = envelope.hash
        envelopes.append(envelope)
    return envelopes


def _message(envelope: Envelope, sequence: int) -> tuple[str, bytes, int | None]:
    return f"ns.registry.{envelope.department}.{envelope.type}", envelope.to_json(), sequence


def _batch(signer: Signer) -> list[tuple[str, bytes, int | None]]:
    """Genuine runs, forgeries of every kind that the content hash decides, and what it does not."""
    good = _chain(signer, "orgunit-1", [{"n": i} for i in range(4)])
    floats = _chain(signer, "orgunit-2", [{"ratio": 1e-07}, {"ratio": 2.5}])  # orjson spells 1e-7: slow path
    edited = good[1].model_copy(update={"data": {"n": "forged"}})  # claims the hash it had: breaks the run
    last = good[3].model_copy(update={"data": {"n": "forged"}})
    # content does not match, and its department is not the key's: the hash is the reason given
    moved = _chain(signer, "orgunit-3", [{"n": 1}], department="health")[0].model_copy(update={"actor": "x"})
    bad_signature = _chain(signer, "orgunit-4", [{"n": 1}])[0].model_copy(
        update={"signature": base64.b64encode(b"x" * 64).decode()})
    unsigned = _chain(signer, "orgunit-5", [{"n": 1}])[0].model_copy(update={"key_id": "", "signature": ""})
    empty_hash = _chain(signer, "orgunit-6", [{"n": 2**70}])[0].model_copy(
        update={"hash": "", "signature": signer.signature("")})  # signed over an empty hash (orjson: a float)
    messages = [_message(e, i) for i, e in enumerate(
        [good[0], edited, good[2], last, *floats, moved, bad_signature, unsigned, empty_hash], start=1)]
    return [*messages, ("ns.registry.federation.orgunit.established", b"[1]", 99),
            ("ns.registry.federation.orgunit.established", b"{not json", 100)]


def _ring(signer: Signer, folder: Path) -> KeyRing:
    folder.mkdir(exist_ok=True)
    cut = CutOver(SOURCE, stream_name("ns", "registry"), 20, 0, "2026-12-03")
    (folder / cut.file_name).write_text(cut.to_json())
    return KeyRing([signer.public("registry", "federation", frozenset())], folder)


def _reasons(admissions: list[Admission]) -> list[tuple[str | None, str | None]]:
    return [(a.envelope.id if a.envelope else None, a.reason) for a in admissions]


def test_hashed_elsewhere_admits_and_refuses_as_hashed_here(tmp_path: Path) -> None:
    signer = Signer.generate()
    messages = _batch(signer)
    here_ring, there_ring = _ring(signer, tmp_path / "here"), _ring(signer, tmp_path / "there")
    here = admit_batch(messages, here_ring, namespace="ns", service="registry")
    planned = plan_batch(messages, there_ring, namespace="ns", service="registry", hash_elsewhere=True)
    holds, verified = check_batch(planned.hash_jobs(), planned.jobs())
    there = planned.settle(verified, holds)
    assert _reasons(there) == _reasons(here)
    assert [a.admitted for a in here] == [True, False, True, False, True, True, False, False, True, False,
                                          False, False]
    reasons = [a.reason or "" for a in here]
    assert all("does not match its hash" in reasons[i] for i in (1, 3, 6, 9))
    assert there_ring.unsigned_before_cutover == here_ring.unsigned_before_cutover == 1
    assert len(planned.hash_jobs()) == 9  # every parsed, signed body; not the unsigned one
    assert False in holds  # the forgeries (and the float, which the slow path then confirms)


def test_a_forged_body_is_refused_only_because_its_hash_is_checked(tmp_path: Path) -> None:
    """The claimed hash of an edited body is what the run was sealed with: only the hash check
    (here: the helper's) tells it from the genuine one."""
    signer = Signer.generate()
    messages = _batch(signer)[:4]
    planned = plan_batch(messages, _ring(signer, tmp_path), namespace="ns", service="registry", hash_elsewhere=True)
    holds, verified = check_batch(planned.hash_jobs(), planned.jobs())
    assert holds == [True, False, True, False]
    assert [a.admitted for a in planned.settle(verified, holds)] == [True, False, True, False]
    assert [a.admitted for a in planned.settle(verified, [True] * 4)] == [True] * 4  # had it skipped them


def test_without_a_key_ring_nothing_is_left_to_hash(tmp_path: Path) -> None:
    messages = _batch(Signer.generate())
    planned = plan_batch(messages, None, namespace="ns", service="registry", hash_elsewhere=True)
    assert planned.hash_jobs() == [] and planned.jobs() == []
    assert _reasons(planned.settle([])) == _reasons(admit_batch(messages, None, namespace="ns", service="registry"))


async def test_the_helper_process_confirms_hashes_as_this_one_does(tmp_path: Path) -> None:
    signer = Signer.generate()
    planned = plan_batch(_batch(signer), _ring(signer, tmp_path), namespace="ns", service="registry",
                         hash_elsewhere=True)
    verifier = SignatureVerifier(helper=True)
    try:
        checked = verifier.check(planned.hash_jobs(), planned.jobs())
        signatures = verifier.verify(planned.jobs())
        assert await checked == check_batch(planned.hash_jobs(), planned.jobs())
        assert await signatures == check_batch([], planned.jobs())[1]
    finally:
        await verifier.aclose()
