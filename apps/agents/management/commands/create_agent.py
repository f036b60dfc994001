import os

from django.core.management.base import CommandError
from django.db import transaction

from apps.agents.engine_fields import ENGINE_FIELDS, ENGINE_LABELS, engine_attrs
from apps.agents.services import agent_create
from apps.audit.services import Actor
from apps.companies.selectors import company_get_by_slug
from apps.core.commands import AIRiskCommand

# option -> agent attribute, for the engine settings (each engine takes only some: engine_fields.py)
ENGINE_OPTIONS = {
    "model": "--model",
    "base_url": "--base-url",
    "deployment": "--deployment",
    "api_version": "--api-version",
    "region": "--region",
    "organization": "--organization",
    "access_key_id": "--access-key-id",
    "secret_access_key": "--secret-access-key",
    "session_token": "--session-token",
}


class Command(AIRiskCommand):
    help = (
        "Create an agent of a company on one LLM engine. It grants nothing: use grant_agent. The key may come "
        "from an environment variable (--api-key-env) so that it stays out of the shell history."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--company", required=True, help="Slug of the agent's company.")
        parser.add_argument("--name", required=True)
        # Not argparse choices: a wrong engine gets the same one-line reason as every other bad value.
        parser.add_argument("--engine", required=True, help=f"One of {', '.join(ENGINE_FIELDS)}.")
        parser.add_argument("--model", default="", help="Model name (Bedrock: model id; Azure: the base model).")
        parser.add_argument(
            "--base-url",
            default="",
            help="Override of the provider's URL (OpenAI/Mistral/LLaMA with /v1; Azure: the resource endpoint).",
        )
        parser.add_argument("--deployment", default="", help="Azure deployment name.")
        parser.add_argument("--api-version", default="", help="Azure API version (empty: the v1 URL).")
        parser.add_argument("--region", default="", help="AWS Bedrock region, e.g. us-east-1.")
        parser.add_argument("--organization", default="", help="OpenAI organization id.")
        parser.add_argument("--api-key", default="", help="The provider's API key (prefer --api-key-env).")
        parser.add_argument("--api-key-env", default="", metavar="NAME", help="Read the API key from $NAME.")
        parser.add_argument("--access-key-id", default="", help="AWS access key id (Bedrock).")
        parser.add_argument("--secret-access-key", default="", help="AWS secret access key (Bedrock).")
        parser.add_argument("--session-token", default="", help="AWS session token (Bedrock, optional).")
        parser.add_argument("--instructions", default="", help="The system prompt.")
        parser.add_argument("--description", default="")
        parser.add_argument("--max-messages", default="", help="Earlier messages sent with a prompt (1-200, 20).")
        parser.add_argument("--temperature", default="", help="0 to 2 (default 0.7).")
        parser.add_argument("--max-tokens", default="", help="Longest answer in tokens (default: the model's).")

    @transaction.atomic
    def run(self, **options):
        engine = options["engine"]
        if engine not in ENGINE_FIELDS:
            raise CommandError(f"Unknown engine {engine!r}; choose one of {', '.join(ENGINE_FIELDS)}.")
        company = company_get_by_slug(slug=options["company"])
        if company is None:
            raise CommandError(f"Unknown company: {options['company']}")
        api_key = options["api_key"]
        if options["api_key_env"]:
            if api_key:
                raise CommandError("Give either --api-key or --api-key-env, not both.")
            api_key = os.environ.get(options["api_key_env"], "")
            if not api_key:
                raise CommandError(f"The environment variable {options['api_key_env']} is not set or empty.")
        taken = set(engine_attrs(engine))
        values = {"api_key": api_key} if api_key else {}
        for attr, option in ENGINE_OPTIONS.items():
            if options[attr]:
                if attr not in taken:
                    raise CommandError(f"{ENGINE_LABELS[engine]} does not take {option}.")
                values[attr] = options[attr]
        if api_key and "api_key" not in taken:
            raise CommandError(f"{ENGINE_LABELS[engine]} does not take an API key.")
        for attr in ("instructions", "description", "max_messages", "temperature", "max_tokens"):
            if options[attr] != "":
                values[attr] = options[attr]
        agent = agent_create(company=company, actor=Actor.system(), name=options["name"], engine=engine, **values)
        return (
            f"Created agent {agent.name!r} (id {agent.public_id}) of {company.slug} on {ENGINE_LABELS[engine]}. "
            f"Nobody may use it yet: grant_agent --agent {agent.public_id} --group NAME.",
            {"id": agent.public_id, "name": agent.name, "engine": agent.engine, "company": company.slug},
        )
