"""The development engine: a real process on loopback that the llama adapter can talk to."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.engines.base import EngineConfig
from apps.engines.tests.helpers import collect

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def demo_engine():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "airisk.settings_test", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_demo_llm", "--port", "0", "--delay", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "Development engine (not a real LLM) on http://127.0.0.1:" in line, process.stderr.read()
        yield line.split(" on ", 1)[1].split(" ", 1)[0]
    finally:
        process.terminate()
        process.wait(10)


def test_demo_engine_streams_an_answer_composed_from_the_prompt_with_usage(demo_engine):
    config = EngineConfig(engine="llama", model="airisk-demo", base_url=demo_engine)

    deltas, finish = collect(config, prompt="How do we govern generative AI in marketing?")

    answer = "".join(deltas)
    assert len(deltas) > 20  # word by word
    assert "How do we govern generative AI in marketing?" in answer
    assert "**marketing**" in answer or "**generative**" in answer
    assert "1. " in answer
    assert finish.reason == "stop"
    assert finish.usage.estimated is False
    assert finish.usage.input_tokens > 0


def test_demo_engine_rejects_a_bad_port():
    with pytest.raises(CommandError, match="--port"):
        call_command("run_demo_llm", port=70000)
