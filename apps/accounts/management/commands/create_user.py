from django.core.management.base import CommandError

from apps.accounts.models import Role
from apps.accounts.services import user_create
from apps.audit.services import Actor
from apps.companies.selectors import company_get_by_slug
from apps.core.commands import AIRiskCommand


class Command(AIRiskCommand):
    help = "Create a user of a company."

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--company", required=True, help="Slug of the user's company.")
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="", help="Display name.")
        parser.add_argument(
            "--role",
            action="append",
            dest="roles",
            metavar="ROLE",
            help=f"A role ({', '.join(Role.values)}); repeat for several. Default: user.",
        )
        parser.add_argument("--password", help="Password for the web portal (default: no portal login).")

    def run(self, **options):
        company = company_get_by_slug(slug=options["company"])
        if company is None:
            raise CommandError(f"Unknown company: {options['company']}")
        user = user_create(
            company=company,
            email=options["email"],
            name=options["name"],
            roles=options["roles"],
            password=options["password"],
            actor=Actor.system(),
        )
        return (
            f"Created user {user.email} (userid {user.userid}) in {company.slug} with roles {', '.join(user.roles)}.",
            {"userid": user.userid, "email": user.email, "company": company.slug, "roles": user.roles},
        )
