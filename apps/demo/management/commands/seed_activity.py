"""Fill a company with synthetic activity: conversations, messages, usage, scanner hits (apps/demo/activity.py)."""

from django.core.management.base import CommandError

from apps.companies.models import Company
from apps.core.commands import AIRiskCommand
from apps.demo.activity import activity_seed


class Command(AIRiskCommand):
    help = (
        "Add N synthetic conversations over the last D days to a company (users, groups if needed, messages, usage "
        "records, scanner hits, feedback) and bring the dashboards' rollups up to date. Deterministic with --seed "
        "on the same starting state; each run adds activity (it never replaces any). Progress goes to stderr."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--company", required=True, help="The company's slug.")
        parser.add_argument("--conversations", type=int, required=True, help="How many conversations to add.")
        parser.add_argument("--days", type=int, default=90, help="Spread over the last D days (default 90).")
        parser.add_argument("--seed", type=int, default=1, help="The random seed (default 1).")
        parser.add_argument(
            "--users", type=int, default=24, help="Create synthetic users until the company has this many (24)."
        )
        parser.add_argument("--batch-size", type=int, default=1000, help="Conversations per transaction (1000).")
        parser.add_argument("--quiet", action="store_true", help="No progress lines.")

    def run(self, **options):
        company = Company.objects.filter(slug=options["company"]).first()
        if company is None:
            raise CommandError(f"No company with the slug {options['company']!r}.")
        for name, low in (("conversations", 0), ("days", 1), ("users", 1), ("batch_size", 1)):
            if options[name] < low:
                raise CommandError(f"--{name.replace('_', '-')} must be at least {low}.")
        progress = None if options["quiet"] else (lambda line: self.stderr.write(line))
        try:
            result = activity_seed(
                company=company,
                conversations=options["conversations"],
                days=options["days"],
                seed=options["seed"],
                users=options["users"],
                batch_size=options["batch_size"],
                progress=progress,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        data = {"company": company.slug, **result.as_dict()}
        line = (
            f"Added {result.conversations} conversations ({result.messages} messages, {result.exchanges} exchanges, "
            f"{result.hits} scanner hits) to '{company.slug}' in {result.seconds:.1f} s."
        )
        return line, data
