from django.core.management.base import CommandError

from apps.audit.services import Actor
from apps.companies.selectors import company_get_by_slug
from apps.core.commands import AIRiskCommand
from apps.oauth.grants import DEFAULT_GRANTS, GRANTS, USERS_WRITE, normalize_grants
from apps.oauth.services import api_client_create


class Command(AIRiskCommand):
    help = "Register an API client (APIUser) of a company and print its client id and secret (shown only once)."

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--company", required=True, help="Slug of the client's company.")
        parser.add_argument("--name", required=True, help="What the integration is, e.g. 'HR sync'.")
        parser.add_argument(
            "--redirect-uris",
            required=True,
            help="Comma-separated redirect URIs: absolute https (http only for localhost/127.0.0.1/[::1]).",
        )
        parser.add_argument(
            "--no-user-tokens", action="store_true", help="Refuse the userid parameter (generic tokens only)."
        )
        parser.add_argument("--require-pkce", action="store_true", help="Require a PKCE S256 code_challenge.")
        parser.add_argument(
            "--grant",
            action="append",
            default=[],
            metavar="NAME",
            help=f"Add a grant to the default ones ({' '.join(DEFAULT_GRANTS)}); repeatable. "
            f"Known grants: {' '.join(GRANTS)}.",
        )
        parser.add_argument(
            "--no-default-grants", action="store_true", help="Start from no grants instead of the default ones."
        )
        parser.add_argument("--manage-users", action="store_true", help="The same as --grant users:write.")

    def run(self, **options):
        grants = [] if options["no_default_grants"] else list(DEFAULT_GRANTS)
        grants += options["grant"] + ([USERS_WRITE] if options["manage_users"] else [])
        grants = normalize_grants(grants)  # an unknown name fails before anything is looked up
        company = company_get_by_slug(slug=options["company"])
        if company is None:
            raise CommandError(f"Unknown company: {options['company']}")
        client, secret = api_client_create(
            company=company,
            name=options["name"],
            redirect_uris=options["redirect_uris"],
            allow_user_tokens=not options["no_user_tokens"],
            require_pkce=options["require_pkce"],
            grants=grants,
            actor=Actor.system(),
        )
        return (
            f"Created API client {client.name!r} of {company.slug}: client_id {client.client_id} "
            f"client_secret {secret} grants {' '.join(client.grants) or '(none)'} "
            "(store the secret now; it cannot be shown again).",
            {
                "client_id": client.client_id,
                "client_secret": secret,
                "redirect_uris": client.redirect_uri_list,
                "company": company.slug,
                "grants": client.grants,
            },
        )
