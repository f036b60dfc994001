"""Small helpers shared by tests."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


TEST_SETTINGS_ENV = {"DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}


def bearer(token: str) -> dict:
    """Headers for the Django test client: ``client.get(url, headers=bearer(token))``."""
    return {"Authorization": f"Bearer {token}"}


def run_python(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run this Python (``-c CODE``, a script and its arguments) in a fresh process from the project's root, with the
    given environment on top of the current one."""
    # The test settings put their defaults into os.environ; a fresh process must not inherit them.
    inherited = {k: v for k, v in os.environ.items() if k not in TEST_SETTINGS_ENV}
    full_env = {**inherited, **(env or {})}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``manage.py`` in a fresh process with the given environment on top of the current one."""
    return run_python(str(ROOT / "manage.py"), *args, env=env)


def json_line(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])
