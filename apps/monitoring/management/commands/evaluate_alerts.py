"""``evaluate_alerts``: the period rules (usage, error rate, login bursts) and the notification outbox.

Run it from cron every 5 minutes (docs/monitoring.md). Idempotent: what a run found is already on an issue that
the next run finds, so running it twice opens nothing new.
"""

from django.core.management.base import CommandError

from apps.companies.models import Company
from apps.core.commands import AIRiskCommand
from apps.monitoring.delivery import deliver_due
from apps.monitoring.evaluation import evaluate_period_rules


class Command(AIRiskCommand):
    help = (
        "Evaluate the period alert rules (a user's cost or tokens, an agent's error rate, failed-login bursts) and "
        "send the notifications that are due. Run it from cron, e.g. every 5 minutes."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--company", help="Only this company (its slug).")
        parser.add_argument("--no-deliver", action="store_true", help="Do not send the notifications that are due.")

    def run(self, **options):
        company = None
        if options.get("company"):
            company = Company.objects.filter(slug=options["company"]).first()
            if company is None:
                raise CommandError(f"Unknown company: {options['company']}.")

        def progress(rule, results) -> None:
            # Progress goes to stderr so that stdout stays one line (or one JSON object) for scripts.
            if options["verbosity"] > 0:
                opened = sum(1 for _, new in results if new)
                self.stderr.write(
                    f"... {rule.company.slug} / {rule.name} ({rule.kind}): {opened} opened, "
                    f"{len(results) - opened} already open"
                )

        summary = evaluate_period_rules(company=company, progress=progress)
        sent = {"sent": 0, "failed": 0, "retry": 0} if options["no_deliver"] else deliver_due()
        data = {"rules": summary.rules, "opened": summary.opened, "alreadyOpen": summary.updated, "notifications": sent}
        line = (
            f"Evaluated {summary.rules} period rules: {summary.opened} issues opened, {summary.updated} already open; "
            f"notifications: {sent['sent']} sent, {sent['retry']} to retry, {sent['failed']} failed."
        )
        return line, data
