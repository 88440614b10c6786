"""Command line of the registry service: ``python -m services.registry --help``."""

from __future__ import annotations

from datetime import datetime, timedelta

import typer

from services.registry.adapters.tables import metadata
from services.registry.application import commands as c
from services.registry.application import credentials, organisation
from services.registry.application.access import markdown_table
from services.registry.application.verification import LOOKUPS
from services.registry.bootstrap import SYSTEM, build_app, build_deps
from services.registry.settings import RegistrySettings
from shared.cli import add_audit_commands, add_migrate_command, offline, run, serve
from shared.eventstore.unit_of_work import UnitOfWork
from shared.runtime import ServiceRuntime

cli = typer.Typer(help="Qingdan registry service", no_args_is_help=True, add_completion=False)


def _runtime(settings: RegistrySettings) -> ServiceRuntime:
    return ServiceRuntime.build(settings, schema=(metadata,), publishes=False)


@cli.command("serve")
def serve_command() -> None:
    """Serve HTTP (settings from QD_* environment variables)."""
    settings = RegistrySettings()
    serve(lambda: build_app(settings), settings)


@cli.command("init")
def init_command(
    admin_id: str = typer.Option(..., help="Staff id of the first federation admin"),
    admin_name: str = typer.Option(..., help="Their display name"),
    federation_name: str = typer.Option("区残联", help="Name of the federation department"),
) -> None:
    """Create the federation department and its first admin (once, on a new installation)."""
    settings = RegistrySettings()

    async def go() -> None:
        async with offline(_runtime(settings)) as runtime:
            deps = build_deps(settings, runtime)
            await runtime.executor.run_buffered(lambda uow: organisation.register_department(
                uow, deps, SYSTEM, c.RegisterDepartment(code="federation", name=federation_name)))
            await runtime.executor.run_buffered(lambda uow: organisation.enrol_staff(
                uow, deps, SYSTEM, c.EnrolStaff(staff_id=admin_id, display_name=admin_name,
                                                  department="federation", roles=["federation_admin"])))
    run(go())
    typer.echo(f"created department 'federation' and admin {admin_id}")
    typer.echo(f"their one-time code to set a password: {_setup_code(settings, admin_id)}")


def _setup_code(settings: RegistrySettings, staff_id: str) -> str:
    async def go() -> tuple[str, datetime]:
        async with offline(_runtime(settings)) as runtime:
            return await runtime.executor.run(lambda conn: credentials.issue_setup_code(
                UnitOfWork(conn), settings.sign_in_policy(), SYSTEM, staff_id))
    code, expires = run(go())
    return f"{code} (valid until {expires:%Y-%m-%d %H:%M} UTC; POST /auth/password or the dashboards' sign-in page)"


@cli.command("setup-code")
def setup_code_command(staff_id: str) -> None:
    """Print a one-time code for a member of staff to set a (new) password with."""
    typer.echo(_setup_code(RegistrySettings(), staff_id))


@cli.command("token")
def token_command(
    staff_id: str,
    minutes: int = typer.Option(15, min=1, max=12 * 60, help="Validity in minutes (scripts; staff sign in)"),
) -> None:
    """Print a short-lived bearer token for an active member of staff (for scripts and operators)."""
    settings = RegistrySettings()

    async def go() -> str:
        from shared.auth import TokenService
        async with offline(_runtime(settings)) as runtime, runtime.engine.connect() as conn:
            principal = await organisation.staff_principal(conn, staff_id)
        if principal is None:
            raise ValueError(f"no active staff {staff_id}")
        return TokenService(settings.effective_auth_secret()).issue(principal, ttl=timedelta(minutes=minutes))
    typer.echo(run(go()))


@cli.command("access-table")
def access_table() -> None:
    """Print the table of who reads what (docs/registry.md holds it; a test checks they agree)."""
    typer.echo(markdown_table())


add_audit_commands(cli, RegistrySettings, _runtime, lookups=LOOKUPS)


add_migrate_command(cli, lambda: _runtime(RegistrySettings()))


if __name__ == "__main__":
    cli()
