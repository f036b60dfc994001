from django.core.management.base import CommandError

from apps.audit.services import Actor
from apps.core.commands import AIRiskCommand
from apps.oauth.selectors import api_client_get_by_client_id
from apps.oauth.services import api_client_rotate_secret


class Command(AIRiskCommand):
    help = "Give an API client a new secret; the old one stops working and the client's tokens are revoked."

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("client_id", help="The client's client_id.")

    def run(self, **options):
        client = api_client_get_by_client_id(options["client_id"])
        if client is None:
            raise CommandError(f"Unknown client_id: {options['client_id']}")
        secret = api_client_rotate_secret(client=client, actor=Actor.system())
        return (
            f"New client_secret for {client.client_id}: {secret} (store it now; it cannot be shown again).",
            {"client_id": client.client_id, "client_secret": secret},
        )
