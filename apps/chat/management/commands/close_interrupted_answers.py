"""Close the answers a crashed server process left in progress (apps/chat/recovery.py)."""

from django.core.management.base import CommandError

from apps.audit.services import Actor
from apps.chat.recovery import interrupted_after_seconds, interrupted_answers_close
from apps.core.commands import AIRiskCommand


class Command(AIRiskCommand):
    help = (
        "Mark AI answers still in progress after a server crash as incomplete (reason 'interrupted'), with their "
        "estimated usage record, the conversation's totals and an audit event. Idempotent. By default only answers "
        "older than CHAT_ANSWER_MAX_SECONDS + 60 s, which no live server can still be generating; every server "
        "process also does this when it starts."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Only answers started at least this long ago (default: CHAT_ANSWER_MAX_SECONDS + 60). "
            "Lower it only when no server is running.",
        )
        parser.add_argument("--batch-size", type=int, default=100, help="Answers read per batch.")

    def run(self, **options):
        older_than = options["older_than"]
        if older_than is None:
            older_than = interrupted_after_seconds()
        if older_than < 0:
            raise CommandError("--older-than must be zero or more seconds.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")

        def progress(closed: int) -> None:
            # Progress goes to stderr so that stdout stays one line (or one JSON object) for scripts.
            if options["verbosity"] > 0:
                self.stderr.write(f"... {closed} interrupted answers closed so far")

        result = interrupted_answers_close(
            actor=Actor.system(), older_than_seconds=older_than, batch_size=options["batch_size"], progress=progress
        )
        result["older_than_seconds"] = older_than
        return (
            f"Closed {result['closed']} interrupted answers older than {older_than:g} s "
            f"(estimated cost {result['cost']} USD).",
            result,
        )
