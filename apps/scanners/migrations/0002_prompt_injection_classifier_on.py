"""The prompt-injection classifier is on out of the box now (issue 11): move saved settings that are still
exactly the old out-of-the-box settings to the new ones.

Until this change the settings forms were prefilled with ``use_classifier: false``, so a row holding exactly the
old defaults is one where an admin saved the form without choosing anything about the classifier (or about
anything else in it). Such rows follow the new default; each change is audited with the action an admin's save
writes. A row that differs from the old defaults in any way (another threshold, an action, patterns off, a
different limit) is an admin's configuration and is left alone, whatever its ``use_classifier``; the same holds
for agent overrides. Reversing restores ``use_classifier: false`` on the rows this moved (those now exactly at the
new defaults).
"""

from django.db import migrations

SCANNER = "prompt_injection"
OLD_DEFAULT = {
    "threshold": 0.5,
    "prompt_action": "block",
    "answer_action": "flag",
    "use_patterns": True,
    "use_classifier": False,
    "max_classifier_chars": 100_000,
}
NEW_DEFAULT = {**OLD_DEFAULT, "use_classifier": True}
REASON = "the prompt-injection classifier is on by default now; these settings were the old default"


def _move(apps, old: dict, new: dict, *, audit: bool) -> None:
    from apps.audit.services import public_id_field

    ScannerDefault = apps.get_model("scanners", "ScannerDefault")
    AgentScannerOverride = apps.get_model("scanners", "AgentScannerOverride")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    events = []
    for row in ScannerDefault.objects.filter(scanner=SCANNER).select_related("company"):
        if row.settings != old:
            continue
        row.settings = dict(new)
        row.save(update_fields=["settings", "updated"])
        target = row.company
        events.append(("scanner.default_set", row, "companies.company", target))
    for row in AgentScannerOverride.objects.filter(scanner=SCANNER).select_related("company", "agent"):
        if row.settings != old:
            continue
        row.settings = dict(new)
        row.save(update_fields=["settings", "updated"])
        events.append(("scanner.agent_override_set", row, "agents.agent", row.agent))
    if not audit:
        return
    AuditEvent.objects.bulk_create(
        AuditEvent(
            company_id=row.company_id,
            action=action,
            actor_type="system",
            actor_label="migration scanners.0002",
            target_type=target_type,
            target_id=str(getattr(target, public_id_field(type(target)))),
            target_label=str(getattr(target, "name", ""))[:254],
            detail={"scanner": SCANNER, "enabled": row.enabled, "use_classifier": new["use_classifier"], "why": REASON},
        )
        for action, row, target_type, target in events
    )


def forwards(apps, schema_editor):
    _move(apps, OLD_DEFAULT, NEW_DEFAULT, audit=True)


def backwards(apps, schema_editor):
    _move(apps, NEW_DEFAULT, OLD_DEFAULT, audit=False)


class Migration(migrations.Migration):
    dependencies = [
        ("scanners", "0001_initial"),
        ("audit", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
