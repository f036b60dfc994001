"""examples/python_client/chat_client.py, run as a developer runs it, against a live ASGI server."""

import importlib.util
import io
from pathlib import Path

import pytest

from apps.agents.models import AgentUserGrant
from apps.engines.fakes import FakeEngineServer, Script
from tests.factories import AgentFactory, APIUserFactory, CompanyFactory, UserFactory

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "python_client" / "chat_client.py"


def load_example():
    spec = importlib.util.spec_from_file_location("chat_client", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def asgi_server(transactional_db):
    from tests.asgi_server import LiveAsgiServer

    with LiveAsgiServer() as server:
        yield server


def test_example_client_streams_an_answer_and_prints_the_cost(asgi_server):
    company = CompanyFactory(slug="example")
    user = UserFactory(company=company, email="ann@example.com")
    client = APIUserFactory(company=company, redirect_uris="https://localhost/callback")
    with FakeEngineServer("llama", api_key="", script=Script(text="Twenty days of leave.", input_tokens=40)) as fake:
        agent = AgentFactory(
            company=company, engine="llama", model="demo", base_url=fake.base_url, api_key="",
            input_price_per_million=1, output_price_per_million=2,
        )  # fmt: skip
        AgentUserGrant.objects.create(company=company, agent=agent, user=user)
        example = load_example()
        token = example.get_user_token(
            asgi_server.url, client.client_id, client.plain_secret, "https://localhost/callback", user.userid
        )
        out = io.StringIO()
        result = example.chat(asgi_server.url, token, "How much leave?", out=out)

    printed = out.getvalue()
    assert result["text"] == "Twenty days of leave."
    assert "Twenty days of leave." in printed and "cost: $0.000048" in printed
    assert result["usage"]["prompt_tokens"] == 40


def test_example_client_stops_on_a_wrong_secret(asgi_server):
    company = CompanyFactory(slug="example")
    user = UserFactory(company=company)
    client = APIUserFactory(company=company, redirect_uris="https://localhost/callback")
    with pytest.raises(Exception) as refused:
        load_example().get_user_token(
            asgi_server.url, client.client_id, "wrong", "https://localhost/callback", user.userid
        )
    assert "401" in str(refused.value)
