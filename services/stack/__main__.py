"""``python -m services.stack up``: the whole system on this machine, with demo data."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from services.stack.demo.loader import load_demo, write_tokens
from services.stack.launcher import EmbeddedStack
from shared.interruption import Interruption
from shared.messaging.credentials import masked

cli = typer.Typer(help="Run Qingdan on this machine (embedded default)", no_args_is_help=True,
                  add_completion=False)
console = Console()


def _partly_loaded(data_dir: Path) -> str:
    return (f"the demo was only partly loaded into {data_dir} (interrupted). It is not loaded again into the "
            "same data, which would register everything twice; the services run with what is there. For the "
            f"whole demo, stop, delete {data_dir} (or give --data-dir a new folder) and run `up` again.")


@cli.command("up")
def up(
    ctx: typer.Context,
    data_dir: Path = typer.Option(Path(os.environ.get("QD_DATA_DIR", "data")), help="Where everything is kept"),
    persons: int = typer.Option(int(os.environ.get("QD_DEMO_PERSONS", "1000")),
                                help="Demo persons to register (first run only: the demo is loaded once)"),
    demo: bool = typer.Option(True, help="Load the Pengshan demo on first run"),
    nats_port: int = typer.Option(int(os.environ.get("QD_STACK_NATS_PORT", "4250")),
                                  help="Embedded NATS port; its monitor listens on this + 4000"),
    base_port: int = typer.Option(int(os.environ.get("QD_STACK_BASE_PORT", "8100")),
                                  help="Services listen on base+1 (registry), +2 (checklists), +12 (the health "
                                       "department's checklists), +3 (inspections), +4 (reporting)"),
) -> None:
    """Start NATS and every service; load demo data once; stop everything on Ctrl-C.

    With the defaults it opens 4250 (NATS), 8250 (NATS monitor), 8101 (registry), 8102 (checklists),
    8112 (checklists of the health department), 8103 (inspections) and 8104 (reporting).
    """
    stack = EmbeddedStack(data_dir, nats_port=nats_port, base_port=base_port)
    busy = stack.busy_ports()
    if busy:
        listed = ", ".join(f"{port} ({what})" for port, what in sorted(busy.items()))
        console.print(f"[red]error: already in use: {listed}.[/] Nothing was started and nothing else was "
                      "touched. Is another Qingdan running (stop it with Ctrl-C in its terminal)? Or choose "
                      "other ports: --base-port N --nats-port N")
        raise typer.Exit(1)
    marker = stack.data_dir / ".demo-loaded"
    source = ctx.get_parameter_source("persons")
    if marker.exists() and source is not None and source.name != "DEFAULT":  # given on the command line
        console.print(f"[yellow]note: the demo was loaded on an earlier run into {stack.data_dir}; "
                      f"--persons {persons} is ignored. For a new demo of that size use a new --data-dir "
                      "(or delete that folder).")
    loading = stack.data_dir / ".demo-loading"  # there and no marker: an earlier load was interrupted
    interruption = Interruption()  # Ctrl-C or SIGTERM at any moment: stop what runs, then everything
    interruption.install()
    in_load = False
    try:
        with console.status("starting NATS and the services…"):
            first_run = stack.initialise_registry()
            interruption.check()
            stack.start()
        interruption.check()
        if demo and loading.exists() and not marker.exists():
            console.print(f"[yellow]note: {_partly_loaded(stack.data_dir)}")
        elif demo and not marker.exists():
            console.print("[bold]loading the Pengshan demo (first run only)…")
            in_load = True
            loading.write_text("started\n")
            load_demo(stack, persons=persons, say=lambda text: console.print(f"  • {text}"))
            interruption.check()
            marker.write_text("loaded\n")  # first: with both files there, the marker wins
            in_load = False
            loading.unlink()
        elif first_run and not demo:
            console.print("started without demo data")
        _print_welcome(stack)
        while not interruption.pressed.wait(0.5):
            pass
    except BaseException as exc:
        if not interruption.caused(exc):
            if not isinstance(exc, Exception):
                raise
            console.print(f"[red]error: {exc}")
            raise typer.Exit(1) from None
        if in_load and loading.exists() and not marker.exists():
            console.print(f"\n[yellow]Ctrl-C: demo loading stopped; {_partly_loaded(stack.data_dir)}")
    finally:
        interruption.ignore_further()  # a second Ctrl-C must not cut the stop short
        with console.status("stopping…"):
            stack.stop()
        console.print("stopped this stack's NATS and services; data kept in", str(stack.data_dir))


def _print_welcome(stack: EmbeddedStack) -> None:
    console.print(f"\n[bold green]Qingdan is running[/] (data: {stack.data_dir}, NATS: {masked(stack.nats_url)})")
    console.print(f"  [bold]dashboards         {stack.url('reporting')}/dash/coverage[/]")
    for key, process in stack.processes.items():
        console.print(f"  {key:<18} {process.url}/docs", soft_wrap=True)
    console.print(f"  {'NATS monitor':<18} http://127.0.0.1:{stack.nats.monitor_port}/", soft_wrap=True)
    tokens = write_tokens(stack, stack.data_dir / "demo-tokens.json")
    console.print("\nSign in: send [bold]Authorization: Bearer <token>[/]. Tokens for the demo roles "
                  f"(also in {stack.data_dir / 'demo-tokens.json'}; new ones: POST /auth/dev-token "
                  "{\"staff_id\": \"…\"} on the registry):")
    for who, token in tokens.items():
        console.print(f"  [bold]{who}[/]")
        print(f"    {token}")  # unwrapped, so it can be copied
    console.print("\nCtrl-C stops everything; running it again keeps the data.")


@cli.command("status")
def status() -> None:
    """Not a daemon: `up` runs in the foreground. This prints where things would be."""
    console.print("run `python3 dev.py up`; by default NATS listens on 4250 (monitor 8250), the services on "
                  "8101 (registry), 8102 (checklists), 8112 (health's checklists), 8103 (inspections), "
                  "8104 (reporting)")


if __name__ == "__main__":
    cli()
