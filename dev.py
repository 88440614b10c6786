#!/usr/bin/env python3
"""Qingdan's developer entry point: needs only Python ≥ 3.11 and git.

    python3 dev.py up [args...]                    start the embedded stack (python -m services.stack up)
    python3 dev.py test [--quick] [pytest args...] lint, then the whole suite on SQLite and PostgreSQL
    python3 dev.py lint                            ruff, mypy and the import contracts only

Every command first makes sure ``.venv`` exists with ``pip install -e '.[test]'`` done for the
current pyproject.toml, then runs itself again inside that environment. ``COMMAND --help`` says more.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".qingdan-installed"
MYPY_TARGETS = ["shared", "services"]
PG_WAIT_SECONDS = 30.0
USAGE = __doc__ or ""
TEST_USAGE = """usage: python3 dev.py test [--quick] [pytest args...] [-- more pytest args]

Runs ruff, mypy and import-linter, then the whole test suite on SQLite, then again on PostgreSQL.
  --quick        SQLite only, no lint
  pytest args    passed to pytest, e.g. -k coverage, -x, services/registry

Before anything runs it makes sure the browser tests' Chromium and (without --quick) PostgreSQL
are there: it installs Chromium with apt-get and starts an installed but stopped local PostgreSQL
cluster when it can (as root); otherwise it stops at once and prints the command to run.
PostgreSQL: 127.0.0.1:5432, user postgres, or QD_TEST_PG_ADMIN_URL."""
LINT_USAGE = (
    "usage: python3 dev.py lint\n\n"
    "ruff over the repository, mypy --strict over shared/ and services/, import-linter contracts."
)
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def say(message: str) -> None:
    """Print a progress line of the launcher."""
    print(f"dev.py: {message}", flush=True)


def die(message: str, code: int = 1) -> None:
    """Print an error and exit with ``code``."""
    print(f"dev.py: error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def venv_python() -> Path:
    """The interpreter of the project's virtual environment."""
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(argv: list[str]) -> None:
    """Create ``.venv`` and install the project if needed, then continue inside it (re-exec)."""
    python = venv_python()
    if not python.exists():
        say(f"creating the virtual environment {VENV}")
        if subprocess.call([sys.executable, "-m", "venv", str(VENV)]) != 0:
            die("could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    installed = STAMP.read_text().strip() if STAMP.exists() else ""
    if installed != digest:
        say("installing the project and its test tools into .venv: pip install -e '.[test]'")
        command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-e", ".[test]"]
        if os.environ.get("CI"):
            command += ["--progress-bar", "off"]
        if subprocess.call(command, cwd=ROOT) != 0:
            die("pip install -e '.[test]' failed (it needs to reach PyPI); see the output above")
        STAMP.write_text(digest + "\n")
    if Path(sys.prefix).resolve() != VENV.resolve():
        say(f"continuing inside {python}")
        if os.name == "nt":  # os.execv does not replace the process on Windows
            sys.exit(subprocess.call([str(python), __file__, *argv]))
        os.execv(str(python), [str(python), __file__, *argv])


class Steps:
    """Runs the steps of a command and remembers how each went, for the summary."""

    def __init__(self) -> None:
        self.results: list[tuple[str, bool, float, str]] = []

    def run(self, name: str, command: list[str], env: dict[str, str] | None = None) -> bool:
        """Run one step as a subprocess in the repository; pytest's exit code 5 counts as failure."""
        say(f"{name}: {' '.join(command)}")
        started = time.monotonic()
        code = subprocess.call(command, cwd=ROOT, env=env)
        note = "" if code == 0 else f"exit code {code}"
        if code == 5 and "pytest" in command:
            note = "pytest collected no tests (exit code 5): check the paths and -k/-m expressions"
            say(f"error: {note}")
        return self.record(name, code == 0, time.monotonic() - started, note)

    def record(self, name: str, ok: bool, seconds: float, note: str = "") -> bool:
        """Remember the outcome of a step."""
        self.results.append((name, ok, seconds, note))
        return ok

    def finish(self) -> int:
        """Print one line per step with its duration; return the process exit code."""
        print("\n" + "-" * 72)
        for name, ok, seconds, note in self.results:
            status = "ok" if ok else "FAILED"
            print(f"{status:<7} {name:<28} {seconds:7.1f} s  {note}".rstrip())
        failed = [name for name, ok, _, _ in self.results if not ok]
        total = sum(seconds for _, _, seconds, _ in self.results)
        if failed:
            print(f"FAILED: {', '.join(failed)} ({total:.1f} s)")
            return 1
        print(f"all {len(self.results)} steps passed ({total:.1f} s)")
        return 0


def lint(steps: Steps) -> None:
    """ruff over the repository, mypy over MYPY_TARGETS, the import contracts of pyproject.toml."""
    steps.run("ruff", [sys.executable, "-m", "ruff", "check", "."])
    steps.run("mypy", [sys.executable, "-m", "mypy", *MYPY_TARGETS])
    # import-linter has no ``python -m`` entry point; its console script sits next to this interpreter.
    steps.run("import-linter", [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"])


def pytest_run(steps: Steps, backend: str, pytest_args: list[str]) -> None:
    """The whole suite on one database backend."""
    env = {**os.environ, "QD_TEST_DB": backend}
    steps.run(f"pytest ({backend})", [sys.executable, "-m", "pytest", *pytest_args], env=env)


def ensure_postgres() -> str | None:
    """Make PostgreSQL answer (starting the local cluster if there is one); return an error or None."""
    from shared.testing.servers import PostgresUnavailableError, check_postgres, docker_engine_available

    try:
        check_postgres()
        return None
    except PostgresUnavailableError as exc:
        problem = str(exc)
    if os.environ.get("QD_TEST_PG_ADMIN_URL"):
        return f"{problem}\n(QD_TEST_PG_ADMIN_URL is set, so no local cluster was started)"
    clusters = Path("/etc/postgresql")
    versions = sorted((p.name for p in clusters.glob("*") if (p / "main").is_dir()), key=_version_key)
    if versions:
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"]
        say(f"PostgreSQL is not reachable; starting it: {' '.join(command)}")
        if shutil.which(command[0]) is None:
            return f"{problem}\n(pg_ctlcluster is not installed)"
        subprocess.call(command)
        deadline = time.monotonic() + PG_WAIT_SECONDS
        while time.monotonic() < deadline:
            try:
                check_postgres()
                return None
            except PostgresUnavailableError as exc:
                problem = str(exc)
            time.sleep(0.5)
        return f"{problem}\n(still unreachable {PG_WAIT_SECONDS:.0f} s after {' '.join(command)})"
    if docker_engine_available():
        say("PostgreSQL is not reachable; the tests will start one in Docker (testcontainers)")
        return None
    return (
        f"{problem}\n(no cluster under /etc/postgresql to start and no Docker engine: install PostgreSQL, "
        "or set QD_TEST_PG_ADMIN_URL to one where this user may create databases)"
    )


def find_chromium() -> str | None:
    """Debian's Chromium, which the browser tests drive (Playwright's own download is not used)."""
    return shutil.which("chromium") or next((p for p in CHROMIUM_PATHS if Path(p).exists()), None)


def ensure_chromium() -> str | None:
    """Find Chromium, installing it with apt-get when running as root; return an error or None."""
    if find_chromium() is not None:
        return None
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if root and shutil.which("apt-get"):
        say("Chromium (for the browser tests) is missing; installing it: apt-get install -y chromium")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        command = ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "fonts-wqy-microhei"]
        if subprocess.call(command, env=env) != 0:
            subprocess.call(["apt-get", "update"], env=env)
            subprocess.call(command, env=env)
        if find_chromium() is not None:
            return None
    return ("the browser tests need Chromium and it is not installed. Run:\n"
            "    sudo apt-get install -y chromium fonts-wqy-microhei\n"
            "(or run dev.py as root, which installs it; or leave the browser tests out: "
            "python3 dev.py test --quick services shared)")


def needs_browser(pytest_args: list[str]) -> bool:
    """Whether the run includes the browser tests: the whole suite, or paths under tests/."""
    paths = [a.split("::")[0] for a in pytest_args if not a.startswith("-") and Path(a.split("::")[0]).exists()]
    if not paths:
        return True
    e2e = (ROOT / "tests").resolve()
    return any(e2e == Path(p).resolve() or e2e in Path(p).resolve().parents or Path(p).resolve() in e2e.parents
               for p in paths)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in name.split("."))


def command_test(args: list[str]) -> int:
    """``test [--quick] [pytest args...]``: check the prerequisites, lint, then pytest on SQLite and PostgreSQL."""
    cut = args.index("--") if "--" in args else len(args)
    own, passthrough = args[:cut], args[cut + 1 :]
    if "-h" in own or "--help" in own:
        print(TEST_USAGE)
        return 0
    quick = "--quick" in own
    pytest_args = [arg for arg in own if arg != "--quick"] + passthrough
    # Everything a run needs is checked first: a missing browser or database stops it now, with
    # the command to run, not after minutes of tests.
    problems = []
    if needs_browser(pytest_args):
        problems.append(ensure_chromium())
    if not quick:
        pg_problem = ensure_postgres()
        problems.append(None if pg_problem is None else
                        f"the PostgreSQL run needs PostgreSQL and it cannot be reached:\n{pg_problem}\n"
                        "(install and start it: sudo apt-get install -y postgresql && sudo pg_ctlcluster "
                        "--skip-systemctl-redirect $(ls /etc/postgresql | sort -V | tail -1) main start; "
                        "or run SQLite only: python3 dev.py test --quick)")
    found = [p for p in problems if p is not None]
    if found:
        die("\n".join(found))
    steps = Steps()
    if not quick:
        lint(steps)
    pytest_run(steps, "sqlite", pytest_args)
    if not quick:
        pytest_run(steps, "postgres", pytest_args)
    return steps.finish()


def command_lint(args: list[str]) -> int:
    """``lint``: ruff, mypy and import-linter."""
    if "-h" in args or "--help" in args:
        print(LINT_USAGE)
        return 0
    if args:
        die(f"lint takes no arguments, got {' '.join(args)}", code=2)
    steps = Steps()
    lint(steps)
    return steps.finish()


def command_up(args: list[str]) -> int:
    """``up [args...]``: hand over to ``python -m services.stack up``."""
    command = [sys.executable, "-m", "services.stack", "up", *args]
    say(" ".join(command))
    if os.name == "nt":
        return subprocess.call(command, cwd=ROOT)
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaced this process


COMMANDS = {"test": command_test, "lint": command_lint, "up": command_up}


def main(argv: list[str]) -> int:
    """Dispatch ``dev.py COMMAND [args...]``."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        die(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        die(f"unknown command {argv[0]!r}; commands: {', '.join(COMMANDS)}" if argv else
            f"a command is needed: {', '.join(COMMANDS)}", code=2)
    ensure_venv(argv)
    os.chdir(ROOT)
    try:
        return COMMANDS[argv[0]](argv[1:])
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
