"""Demo data for a first look at the portal. Idempotent: running it again changes nothing."""

from decimal import Decimal
from urllib.parse import urlsplit

from django.core.management.base import CommandError
from django.db import transaction

from apps.accounts.models import ApplicationUser, Group
from apps.accounts.services import group_add_member, group_create, user_create
from apps.agents.models import Agent, AgentTemplate
from apps.agents.services import (
    agent_create,
    agent_grant_group,
    agent_template_create,
    company_profile_update,
    user_set_default_agent,
)
from apps.audit.services import Actor
from apps.chat.models import Conversation
from apps.companies.models import Company
from apps.companies.services import company_create
from apps.core.commands import AIRiskCommand
from apps.dashboards.models import Dashboard
from apps.dashboards.services import dashboard_create_starter, dashboard_update
from apps.demo.activity import activity_seed
from apps.monitoring.models import AlertRule
from apps.monitoring.services import alert_rule_create
from apps.oauth.models import APIUser
from apps.oauth.services import api_client_create

DEMO_SLUG = "demo"
DEMO_ADMIN = ("admin@demo.airisk.local", "Demo Admin", ["admin", "user"])
DEMO_USER = ("user@demo.airisk.local", "Demo User", ["user"])
# Monitoring, compliance and dashboards: the officer's roles open all three.
DEMO_OFFICER = ("officer@demo.airisk.local", "Demo Officer", ["monitor", "compliance", "user"])
DEMO_DASHBOARD = "Overview"
# Two alert rules, so that a blocked prompt in the demo chat opens an issue in /monitoring/ at once.
DEMO_RULES = (
    {"name": "Prompt injection attempts", "kind": "scanner_hit", "scanner": "prompt_injection", "min_score": 0.5,
     "severity": "high", "enabled": True},
    {"name": "Personal information in prompts", "kind": "scanner_hit", "scanner": "pii", "min_score": 0.0,
     "direction": "prompt", "severity": "medium", "enabled": True},
)  # fmt: skip
DEMO_PASSWORD = "governance-first-42"
DEMO_GROUP = "Everyone"
DEMO_CLIENT = "Demo integration"
DEMO_REDIRECT_URI = "http://localhost/callback"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# The development engine that `make run` starts in the background (manage.py run_demo_llm): OpenAI wire format on
# loopback, answers composed from the prompt. It is not a language model; it lets the demo agent answer offline.
DEMO_ENGINE_URL = "http://127.0.0.1:8765/v1"
DEMO_AGENT = "Demo assistant"
DEMO_TEMPLATE = "Policy helper"
# Synthetic activity for the dashboards of a fresh demo company (about a second; seed_activity adds more).
DEMO_CONVERSATIONS = 200


class Command(AIRiskCommand):
    help = (
        "Create (once) a demo company with an admin, a plain user, a group and an API client, and print how to "
        "log in. The client's secret is printed only on the run that creates it."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE_URL,
            help=f"Where the server will answer, for the login line (`make run` passes its HOST and PORT). "
            f"Default: {DEFAULT_BASE_URL}.",
        )

    @transaction.atomic
    def run(self, **options):
        base_url = options["base_url"].rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            raise CommandError(f"--base-url must look like http://127.0.0.1:8000, not {options['base_url']!r}.")
        actor = Actor.system()
        company = Company.objects.filter(slug=DEMO_SLUG).first() or company_create(
            name="Demo Company", slug=DEMO_SLUG, actor=actor
        )
        users = {}
        for email, name, roles in (DEMO_ADMIN, DEMO_USER, DEMO_OFFICER):
            users[email] = ApplicationUser.objects.filter(email__iexact=email).first() or user_create(
                company=company, email=email, name=name, roles=roles, password=DEMO_PASSWORD, actor=actor
            )
        group = Group.objects.for_company(company).filter(name=DEMO_GROUP).first() or group_create(
            company=company, name=DEMO_GROUP, actor=actor
        )
        for user in users.values():
            group_add_member(group=group, user=user, actor=actor)
        agent = self.demo_agent(company, group, users.values(), actor)
        template = AgentTemplate.objects.filter(name=DEMO_TEMPLATE).first() or agent_template_create(
            actor=actor,
            name=DEMO_TEMPLATE,
            engine="openai",
            model="gpt-4o-mini",
            description="Answers questions about the company's policies, quoting them.",
            instructions="Answer from the company's policies. Quote the passage you rely on; say so when none applies.",
            greeting="Ask me about a policy.",
            suggested_prompts="What does the travel policy say about trains?\nWho approves a new AI tool?",
        )
        if not Conversation.objects.for_company(company).exists():
            activity_seed(company=company, conversations=DEMO_CONVERSATIONS, users=12)
        self.oversight(company, users[DEMO_ADMIN[0]], actor)
        client, secret = APIUser.objects.for_company(company).filter(name=DEMO_CLIENT).first(), None
        if client is None:
            client, secret = api_client_create(
                company=company, name=DEMO_CLIENT, redirect_uris=[DEMO_REDIRECT_URI], actor=actor
            )
        if secret is not None:
            client_line = f"client_secret {secret} (shown only now)"
        else:
            client_line = (
                f"its secret was shown when it was created; `rotate_client_secret {client.client_id}` makes a new one"
            )
        line = (
            f"Demo company '{company.slug}' is ready. Log in at {base_url}/admin/ as "
            f"{DEMO_ADMIN[0]} with password {DEMO_PASSWORD} (plain user: {DEMO_USER[0]}; monitoring, compliance "
            f"and dashboards: {DEMO_OFFICER[0]}; same password; people chat at {base_url}/login/). "
            f"Demo API client: client_id {client.client_id}, redirect URI {DEMO_REDIRECT_URI}, {client_line}. "
            f"Demo agent {agent.name!r} (id {agent.public_id}) on the development engine {DEMO_ENGINE_URL} "
            f"(check it: manage.py check_agent {agent.public_id})."
        )
        return line, {
            "company": company.slug,
            "admin_url": f"{base_url}/admin/",
            "admin": DEMO_ADMIN[0],
            "user": DEMO_USER[0],
            "officer": DEMO_OFFICER[0],
            "password": DEMO_PASSWORD,
            "group": group.name,
            "client_id": client.client_id,
            "client_secret": secret,
            "redirect_uri": DEMO_REDIRECT_URI,
            "agent": agent.public_id,
            "template": template.name,
        }

    def oversight(self, company, admin, actor) -> None:
        """The demo's alert rules and a dashboard shared with the company, each made once."""
        if not AlertRule.objects.for_company(company).exists():
            for data in DEMO_RULES:
                alert_rule_create(company=company, actor=actor, data=dict(data))
        if not Dashboard.objects.for_company(company).filter(name=DEMO_DASHBOARD).exists():
            dashboard = dashboard_create_starter(company=company, actor=actor, owner=admin, name=DEMO_DASHBOARD)
            dashboard_update(company=company, actor=actor, dashboard=dashboard, shared=True)

    def demo_agent(self, company, group, users, actor) -> Agent:
        """The demo agent on the development engine, granted to the demo group, everyone's default."""
        agent = Agent.objects.for_company(company).alive().filter(name=DEMO_AGENT).first()
        if agent is None:
            agent = agent_create(
                company=company,
                actor=actor,
                name=DEMO_AGENT,
                engine="llama",
                base_url=DEMO_ENGINE_URL,
                model="demo",
                description=(
                    "Answers offline through the development engine (manage.py run_demo_llm). Its prices are"
                    " illustrative, so that the demo shows what answers cost."
                ),
                instructions="You are AIRisk's demo assistant. Answer briefly and say that you are a demo.",
                greeting="Hello! I am the demo assistant.",
                greeting_description="I answer without any external account: try one of the prompts below.",
                suggested_prompts="What can AIRisk govern?\nSummarise our AI usage policy.\nHow are prompts scanned?",
                input_price_per_million=Decimal("2.50"),
                output_price_per_million=Decimal("10.00"),
            )
        agent_grant_group(company=company, agent=agent, group=group, actor=actor)
        for user in users:
            user_set_default_agent(company=company, user=user, agent=agent, actor=actor)
        company_profile_update(company=company, actor=actor, default_agent=agent)
        return agent
