"""The curl and Python examples of docs/scanners.md ("Calling the Scanner", "Consuming the Results") run against
a live server on loopback and print what the docs say."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from apps.oauth.grants import default_grants
from apps.oauth.services import access_token_issue
from tests.factories import APIUserFactory

DOCS = Path(__file__).resolve().parents[3] / "docs" / "scanners.md"


def example(kind: str) -> tuple[str, str]:
    """The code block after ``<!-- docs-test: kind -->`` and the block that follows it (its documented output)."""
    text = DOCS.read_text()
    after = text.split(f"<!-- docs-test: {kind} -->", 1)[1]
    blocks = re.findall(r"```[a-z]*\n(.*?)```", after, re.S)
    return blocks[0], blocks[1]


@pytest.fixture
def env(live_server, company):
    client = APIUserFactory(company=company, grants=[*default_grants(), "scanner"])
    token = access_token_issue(client=client, user=None)[1]
    return {"AIRISK_URL": live_server.url, "AIRISK_TOKEN": token, "PATH": "/usr/bin:/bin"}


@pytest.mark.django_db(transaction=True)
def test_the_curl_example_answers_as_documented(env):
    code, documented = example("curl")

    run = subprocess.run(["bash", "-c", code], env=env, capture_output=True, text=True, timeout=60)

    assert run.returncode == 0, run.stderr
    assert '"sanitizedText": "Mail [EMAIL_1] the Q3 report"' in run.stdout.replace('":"', '": "')
    assert '"type": "EMAIL", "start": 5, "end": 21' in documented
    assert '"start":5,"end":21' in run.stdout.replace(" ", "")


@pytest.mark.django_db(transaction=True)
def test_the_python_example_prints_what_the_docs_show(env):
    code, documented = example("python")

    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == documented.strip()
