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
            help=f"A role ({', '.join(Role.values)}); repeat for several. Default: user. An admin is also a user "
            "(as the demo admin is) unless --no-user-role says otherwise.",
        )
        parser.add_argument(
            "--no-user-role",
            action="store_true",
            help="Do not add the user role to an admin (an admin who manages but does not chat).",
        )
        parser.add_argument("--password", help="Password for the web portal (default: no portal login).")

    def run(self, **options):
        company = company_get_by_slug(slug=options["company"])
        if company is None:
            raise CommandError(f"Unknown company: {options['company']}")
        roles = options["roles"]
        if roles and Role.ADMIN in roles and Role.USER not in roles and not options["no_user_role"]:
            roles = [*roles, Role.USER]
        user = user_create(
            company=company,
            email=options["email"],
            name=options["name"],
            roles=roles,
            password=options["password"],
            actor=Actor.system(),
        )
        return (
            f"Created user {user.email} (userid {user.userid}) in {company.slug} with roles {', '.join(user.roles)}.",
            {"userid": user.userid, "email": user.email, "company": company.slug, "roles": user.roles},
        )
