"""The demo data of `make run` includes an agent on the development engine, granted to the demo user and their
default, and a server-wide template; seeding twice changes nothing."""

import json
from decimal import Decimal
from io import StringIO

from django.core.management import call_command

from apps.accounts.models import ApplicationUser
from apps.agents.models import Agent, AgentTemplate
from apps.agents.selectors import agent_default_for_user, agents_usable_by
from apps.agents.services import agent_check_connection
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.demo.management.commands.seed_demo import DEMO_ENGINE_URL, DEMO_USER
from apps.engines.demo import compose_answer
from apps.engines.fakes import FakeEngineServer, Script


def seed() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_seed_demo_adds_a_granted_default_agent_and_a_template_once(db):
    first = seed()
    events = AuditEvent.objects.count()
    second = seed()

    agent = Agent.objects.get()
    user = ApplicationUser.objects.get(email=DEMO_USER[0])
    assert first["agent"] == second["agent"] == agent.public_id
    assert (agent.engine, agent.base_url, agent.company.slug) == ("llama", DEMO_ENGINE_URL, "demo")
    assert agent.greeting and len(agent.suggested_prompt_list) == 3
    assert list(agents_usable_by(user=user)) == [agent]
    assert agent_default_for_user(user=user) == agent
    assert AgentTemplate.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_the_demo_agent_answers_through_the_development_engine(db):
    seed()
    agent = Agent.objects.get()
    # run_demo_llm's server (the same class and answer function) on a free port instead of 8765
    with FakeEngineServer("llama", api_key="", answer=compose_answer, script=Script(input_tokens=-1)) as engine:
        Agent.objects.filter(pk=agent.pk).update(base_url=engine.base_url)
        agent.refresh_from_db()
        check = agent_check_connection(company=agent.company, agent=agent, actor=Actor.system())

    assert check.text.strip()
    assert check.usage.output_tokens > 0
    # Priced (illustratively), so that the demo's answers show a cost.
    assert (agent.input_price_per_million, agent.output_price_per_million) == (Decimal("2.50"), Decimal("10.00"))
