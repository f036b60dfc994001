"""The base of AIRisk's management commands: one human line by default, a JSON object with ``--json``,
and a non-zero exit with a one-line reason on bad input."""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


def validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


class AIRiskCommand(BaseCommand):
    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
        self.add_command_arguments(parser)

    def add_command_arguments(self, parser) -> None:
        """Subclasses add their own arguments here."""

    def run(self, **options) -> tuple[str, dict[str, Any]]:
        """Do the work; return the human line and the JSON object."""
        raise NotImplementedError

    def handle(self, *args, **options) -> None:
        try:
            line, data = self.run(**options)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(data))
        else:
            self.stdout.write(line)
