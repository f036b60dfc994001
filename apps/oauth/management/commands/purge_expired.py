from django.conf import settings
from django.core.management.base import CommandError

from apps.audit.services import Actor, audit_events_purge
from apps.core.commands import AIRiskCommand
from apps.oauth.services import oauth_expired_purge


class Command(AIRiskCommand):
    help = (
        "Delete expired access tokens, spent authorization codes and audit events older than "
        "AUDIT_RETENTION_DAYS, in batches (run it from cron)."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows deleted per transaction.")

    def run(self, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")

        def progress(kind: str, total: int) -> None:
            # Progress goes to stderr so that stdout stays one line (or one JSON object) for scripts.
            if options["verbosity"] > 0:
                self.stderr.write(f"... {total} expired {kind} deleted so far")

        actor = Actor.system()
        counts = oauth_expired_purge(actor=actor, batch_size=options["batch_size"], progress=progress)
        days = settings.AUDIT_RETENTION_DAYS
        counts["audit_events"] = audit_events_purge(
            older_than_days=days,
            actor=actor,
            batch_size=options["batch_size"],
            progress=lambda total: progress("audit events", total),
        )
        return (
            f"Deleted {counts['tokens']} expired access tokens, {counts['codes']} spent authorization codes "
            f"and {counts['audit_events']} audit events older than {days} days.",
            counts,
        )
