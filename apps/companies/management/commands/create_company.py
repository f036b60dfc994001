from apps.audit.services import Actor
from apps.companies.services import company_create
from apps.core.commands import AIRiskCommand


class Command(AIRiskCommand):
    help = "Create a company (a tenant)."

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True, help="Display name of the company.")
        parser.add_argument("--slug", help="Unique short identifier (default: derived from the name).")

    def run(self, **options):
        company = company_create(name=options["name"], slug=options["slug"], actor=Actor.system())
        return (
            f"Created company {company.name!r} (slug {company.slug}, id {company.pk}).",
            {"id": company.pk, "slug": company.slug, "name": company.name},
        )
