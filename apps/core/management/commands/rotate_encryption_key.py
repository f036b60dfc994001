"""Re-encrypt every encrypted value under the first of FIELD_ENCRYPTION_KEYS, so the others can be retired."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from apps.core.commands import AIRiskCommand
from apps.core.encryption import DecryptionError, reencrypt
from apps.core.fields import encrypted_fields

BATCH = 500


class Command(AIRiskCommand):
    help = (
        "Re-encrypt every encrypted field of every model with the first key of FIELD_ENCRYPTION_KEYS. Put the new "
        "key first, keep the old ones, run this, then remove the old keys. Safe to run again."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH, help=f"Rows per transaction (default {BATCH}).")

    def run(self, **options):
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        totals: dict[str, int] = {}
        for model, field in encrypted_fields():
            label = f"{model._meta.label}.{field.name}"
            # Read the stored tokens as plain text (the field itself would decrypt them) and write new tokens the
            # same way: the secret is never decrypted into a Python string here, and never printed.
            rows = (
                model._base_manager.exclude(**{field.attname: ""})
                .exclude(**{f"{field.attname}__isnull": True})
                .annotate(_token=Cast(field.attname, TextField()))
                .values_list("pk", "_token")
                .order_by("pk")
            )
            total = rows.count()
            done = 0
            last_pk = None
            while True:
                page = rows.filter(pk__gt=last_pk) if last_pk is not None else rows
                chunk = list(page[:batch_size])
                if not chunk:
                    break
                try:
                    with transaction.atomic():
                        for pk, token in chunk:
                            model._base_manager.filter(pk=pk).update(
                                **{field.attname: Value(reencrypt(token), output_field=TextField())}
                            )
                except DecryptionError as exc:
                    raise CommandError(f"{label}: {exc}") from None
                done += len(chunk)
                last_pk = chunk[-1][0]
                if not options["json"]:
                    self.stdout.write(f"{label}: {done}/{total}")
            totals[label] = done
        count = sum(totals.values())
        return (f"Re-encrypted {count} value(s) in {len(totals)} field(s) with the first key.", {"fields": totals})
