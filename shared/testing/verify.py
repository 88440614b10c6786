"""Run a service's ``verify --offline`` as the operator would, on a route test's database and keys."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from shared.settings import ServiceSettings


async def verify_offline(settings: ServiceSettings, **environment: str) -> subprocess.CompletedProcess[str]:
    """``python -m services.<service> verify --offline`` with ``settings``' database and data folder
    (its signing keys), plus ``environment`` (``QD_…`` variables); its exit status and output."""
    env = {**os.environ, "QD_DATABASE_URL": settings.effective_database_url, "QD_DATA_DIR": str(settings.data_dir),
           "QD_MODE": settings.mode, **environment}
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", f"services.{settings.service}", "verify", "--offline"],
        env=env, capture_output=True, text=True, timeout=120)
