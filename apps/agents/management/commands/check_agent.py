from django.core.management.base import CommandError

from apps.agents.engine_fields import ENGINE_LABELS
from apps.agents.models import Agent
from apps.agents.services import agent_check_connection, explain_engine_error
from apps.audit.services import Actor
from apps.core.commands import AIRiskCommand
from apps.engines.base import EngineError


class Command(AIRiskCommand):
    help = (
        "Test an agent's connection (like the Test connection button): a one-token prompt through the real engine. "
        "Exit 0 with the answer, latency and tokens; non-zero with the provider's reason."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("agent", metavar="ID", help="The agent's id.")

    def run(self, **options):
        agent = Agent.objects.alive().select_related("company").filter(public_id=options["agent"]).first()
        if agent is None:
            raise CommandError(f"Unknown agent: {options['agent']}")
        try:
            check = agent_check_connection(company=agent.company, agent=agent, actor=Actor.system())
        except EngineError as exc:
            raise CommandError(explain_engine_error(exc)) from None
        usage = check.usage
        answer = " ".join(check.text.split())
        answer = answer if len(answer) <= 80 else answer[:79] + "…"
        return (
            f"OK: {agent.name} on {ENGINE_LABELS[agent.engine]} answered {answer!r} in "
            f"{check.latency_ms:.0f} ms ({usage.input_tokens} tokens in, {usage.output_tokens} out).",
            {
                "id": agent.public_id,
                "ok": True,
                "answer": check.text,
                "latency_ms": check.latency_ms,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
            },
        )
