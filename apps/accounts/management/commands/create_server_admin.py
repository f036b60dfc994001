from apps.accounts.services import server_admin_create
from apps.audit.services import Actor
from apps.core.commands import AIRiskCommand


class Command(AIRiskCommand):
    help = "Create a server admin: a superuser with no company, who manages every company."

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)

    def run(self, **options):
        user = server_admin_create(email=options["email"], password=options["password"], actor=Actor.system())
        return (
            f"Created server admin {user.email} (userid {user.userid}).",
            {"userid": user.userid, "email": user.email},
        )
