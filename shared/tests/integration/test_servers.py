"""The test servers themselves: a private NATS JetStream, the run's database, throw-away PG databases."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.js.api import StorageType, StreamConfig
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.testing.servers import (
    NatsServerProcess,
    PostgresAdmin,
    PostgresDatabase,
    free_port,
    nats_server_executable,
    wait_until,
)


def _stream(run_id: str, name: str) -> StreamConfig:
    return StreamConfig(
        name=f"QD_TEST_{run_id}_{name}",
        subjects=[f"qdtest.{run_id}.{name.lower()}.>"],
        storage=StorageType.FILE,
    )


@pytest.mark.integration
async def test_nats_server_accepts_jetstream(nats_url: str, run_id: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        stream = _stream(run_id, "ACCEPTS")
        await js.add_stream(stream)
        ack = await js.publish(f"qdtest.{run_id}.accepts.one", b"hello")
        message = await js.get_msg(ack.stream, ack.seq)
        assert message.data == b"hello"
        await js.delete_stream(ack.stream)
    finally:
        await nc.close()


@pytest.mark.integration
async def test_restart_keeps_stream_data_and_clients_reconnect(
    nats_server_fn: NatsServerProcess, run_id: str
) -> None:
    url_before = nats_server_fn.url
    reconnects: list[int] = []

    async def on_reconnect() -> None:
        reconnects.append(1)

    nc = await nats.connect(
        nats_server_fn.url, max_reconnect_attempts=-1, reconnect_time_wait=0.05, reconnected_cb=on_reconnect
    )
    try:
        js = nc.jetstream()
        name = f"QD_TEST_{run_id}_RESTART"
        await js.add_stream(_stream(run_id, "RESTART"))
        for number in range(3):
            await js.publish(f"qdtest.{run_id}.restart.{number}", f"event {number}".encode())

        nats_server_fn.restart()
        await wait_until(lambda: bool(reconnects), message="the client reconnected after the restart")

        assert nats_server_fn.url == url_before
        assert (await js.stream_info(name)).state.messages == 3
        assert (await js.get_msg(name, 3)).data == b"event 2"
    finally:
        await nc.close()


@pytest.mark.integration
def test_start_reports_a_port_that_stays_busy(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy_port = blocker.getsockname()[1]
        server = NatsServerProcess(tmp_path / "data", port=busy_port, monitor_port=free_port())
        with pytest.raises(RuntimeError, match="address already in use"):
            server.start()
        assert not server.running


@pytest.mark.integration
async def test_database_url_serves_sqlalchemy_async(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT)"))
            await connection.execute(text("INSERT INTO probe (id, body) VALUES (1, 'ok')"))
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT body FROM probe"))).scalar_one() == "ok"
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_postgres_database_is_created_and_dropped(
    db_backend: str, request: pytest.FixtureRequest, run_id: str
) -> None:
    if db_backend != "postgres":
        pytest.skip("PostgreSQL only (run with QD_TEST_DB=postgres)")
    admin: PostgresAdmin = request.getfixturevalue("pg_admin")
    database = PostgresDatabase(admin.url, run_id=run_id)
    url = database.create("lifecycle")
    name = database.name
    assert name is not None
    assert name.startswith(f"qd_test_{run_id}_lifecycle_")
    assert url.startswith("postgresql+asyncpg://") and url.endswith(f"/{name}")

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT current_database()"))).scalar_one() == name
    finally:
        await engine.dispose()

    lingering = await asyncpg.connect(database.dsn)  # still connected: drop must force it out
    database.drop()
    lingering.terminate()
    assert database.name is None

    admin_connection = await asyncpg.connect(admin.url)
    try:
        left = await admin_connection.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name)
    finally:
        await admin_connection.close()
    assert left == 0


@pytest.mark.unit
def test_nats_server_executable_is_the_wheels() -> None:
    assert nats_server_executable().is_file()


@pytest.mark.unit
async def test_wait_until_accepts_sync_and_async_predicates() -> None:
    calls: list[int] = []

    def third_time_lucky() -> bool:
        calls.append(1)
        return len(calls) >= 3

    async def ready() -> bool:
        return True

    await wait_until(third_time_lucky, message="three calls")
    await wait_until(ready, message="async predicate")
    assert len(calls) == 3


@pytest.mark.unit
async def test_wait_until_names_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0.05s waiting for: the impossible"):
        await wait_until(lambda: False, timeout=0.05, message="the impossible")
