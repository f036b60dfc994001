"""Named grants replace the ``manage_users`` switch; every existing client keeps what it could do.

The grant names are spelled out here rather than imported: a migration must keep meaning what it meant when
it was written, whatever apps/oauth/grants.py says later.
"""

from django.db import migrations, models

from apps.oauth import grants

DEFAULTS = ["users:read", "chat", "agents:read"]
WITH_MANAGE_USERS = ["users:read", "users:write", "chat", "agents:read"]


def grants_from_manage_users(apps, schema_editor):
    APIUser = apps.get_model("oauth", "APIUser")
    APIUser.objects.filter(manage_users=True).update(grants=WITH_MANAGE_USERS)
    APIUser.objects.filter(manage_users=False).update(grants=DEFAULTS)


def manage_users_from_grants(apps, schema_editor):
    APIUser = apps.get_model("oauth", "APIUser")
    for client in APIUser.objects.only("pk", "grants"):
        APIUser.objects.filter(pk=client.pk).update(manage_users="users:write" in (client.grants or []))


class Migration(migrations.Migration):
    dependencies = [
        ("oauth", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apiuser",
            name="grants",
            field=models.JSONField(
                blank=True,
                default=grants.default_grants,
                help_text="What this client's tokens may do (names from apps/oauth/grants.py). A user token "
                "carries them narrowed by its user's roles.",
                validators=[grants.validate_grants],
            ),
        ),
        migrations.RunPython(grants_from_manage_users, manage_users_from_grants),
        migrations.RemoveField(model_name="apiuser", name="manage_users"),
    ]
