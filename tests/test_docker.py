"""The Docker files, checked without a Docker daemon: the image's own health check against a real gunicorn
configured as production is (ALLOWED_HOSTS = the real domain), and a compose file that builds the image once."""

import shlex
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from tests.helpers import ROOT, TEST_SETTINGS_ENV

DOCKERFILE = ROOT / "docker" / "Dockerfile"
COMPOSE = ROOT / "docker" / "compose.yaml"


def healthcheck_command(port: int) -> list[str]:
    """The Dockerfile's HEALTHCHECK command, aimed at ``port`` and run by this interpreter."""
    line = next(line for line in DOCKERFILE.read_text().splitlines() if line.startswith("HEALTHCHECK"))
    command = shlex.split(line.split(" CMD ", 1)[1].replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def production_server(tmp_path):
    """gunicorn with the settings of a production deployment behind a proxy at airisk.example.com."""
    import os

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in TEST_SETTINGS_ENV}
    env.update(
        DJANGO_SETTINGS_MODULE="airisk.settings",
        DEBUG="false",
        SECRET_KEY="p" * 50,
        ALLOWED_HOSTS="airisk.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}", "airisk.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port
    server.terminate()
    server.wait(timeout=10)


def test_the_images_health_check_passes_when_allowed_hosts_is_the_real_domain(production_server):
    result = subprocess.run(healthcheck_command(production_server), capture_output=True, text=True, timeout=20)

    assert result.returncode == 0, result.stderr


def test_the_real_domain_still_gets_the_app_and_other_hosts_do_not(production_server):
    base = f"http://127.0.0.1:{production_server}"
    request = urllib.request.Request(f"{base}/admin/login/", headers={"Host": "evil.example"})

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)

    assert refused.value.code == 400


def test_compose_builds_the_image_once_and_every_app_service_runs_it():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    built = [name for name, service in services.items() if "build" in service]
    app_image = services["app"]["image"]
    users = [name for name, service in services.items() if service.get("image") == app_image]

    assert built == ["app"]
    assert sorted(users) == ["app", "migrate"]
    # The other user of the image never pulls it (there is no such image in a registry): it waits for the build.
    assert services["migrate"]["pull_policy"] == "never"
    assert services["migrate"]["command"] == "python manage.py migrate --noinput"
