"""Recompute the dashboards' daily rollups from the usage records and scanner hits."""

from django.core.management.base import CommandError

from apps.audit.services import Actor, audit_event_record
from apps.companies.models import Company
from apps.core.commands import AIRiskCommand
from apps.dashboards.rollups import rollups_rebuild


class Command(AIRiskCommand):
    help = (
        "Recompute the dashboards' daily rollups (DailyUsage, DailyScanHits) of one company, or of every company, "
        "from the chat's usage records and the scanners' hits. Safe at any time (one transaction per company); "
        "run it after a receiver failed or after a company's time zone changed."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--company", help="The company's slug (default: every company).")

    def run(self, **options):
        companies = Company.objects.order_by("pk")
        if options.get("company"):
            companies = companies.filter(slug=options["company"])
            if not companies.exists():
                raise CommandError(f"No company with the slug {options['company']!r}.")
        rebuilt = {}
        for company in companies:
            usage_rows, hit_rows = rollups_rebuild(company)
            audit_event_record(
                action="dashboard.rollups_rebuilt",
                company=company,
                actor=Actor.system(),
                detail={"usage_rows": usage_rows, "hit_rows": hit_rows},
            )
            rebuilt[company.slug] = {"usage_rows": usage_rows, "hit_rows": hit_rows}
        line = "Rebuilt the rollups of " + (
            ", ".join(f"{slug} ({rows['usage_rows']} usage rows, {rows['hit_rows']} hit rows)"
                      for slug, rows in rebuilt.items()) or "no company"
        ) + "."  # fmt: skip
        return line, {"companies": rebuilt}
