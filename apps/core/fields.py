"""Model fields of general use."""

from __future__ import annotations

from django.db import models

from apps.core import encryption


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token (see ``apps.core.encryption``); Python code sees the plain text.

    The empty string is stored as is, so "no secret" stays visible without decrypting. Values cannot be
    searched or compared in SQL (each encryption differs), so only ``isnull``/``exact ""`` make sense.
    ``rotate_encryption_key`` finds every field of this class and re-encrypts it under the first key.
    """

    description = "Text encrypted at rest"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return encryption.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encryption.encrypt(value)

    def value_to_string(self, obj) -> str:
        # Serialization (dumpdata) would otherwise write the plain secret out.
        return encryption.MASK if self.value_from_object(obj) else ""


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every (model, field) of the project that holds encrypted values, concrete models only."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model, field))
    return found
