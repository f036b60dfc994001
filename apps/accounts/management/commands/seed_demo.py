"""Demo data for a first look at the portal. Idempotent: running it again changes nothing."""

from django.db import transaction

from airisk.commands import AIRiskCommand
from apps.accounts.models import ApplicationUser, Group
from apps.accounts.services import group_add_member, group_create, user_create
from apps.audit.services import Actor
from apps.companies.models import Company
from apps.companies.services import company_create

DEMO_SLUG = "demo"
DEMO_ADMIN = ("admin@demo.airisk.local", "Demo Admin", ["admin", "user"])
DEMO_USER = ("user@demo.airisk.local", "Demo User", ["user"])
DEMO_PASSWORD = "governance-first-42"
DEMO_GROUP = "Everyone"


class Command(AIRiskCommand):
    help = "Create (once) a demo company with an admin, a plain user and a group, and print how to log in."

    @transaction.atomic
    def run(self, **options):
        actor = Actor.system()
        company = Company.objects.filter(slug=DEMO_SLUG).first() or company_create(
            name="Demo Company", slug=DEMO_SLUG, actor=actor
        )
        users = {}
        for email, name, roles in (DEMO_ADMIN, DEMO_USER):
            users[email] = ApplicationUser.objects.filter(email__iexact=email).first() or user_create(
                company=company, email=email, name=name, roles=roles, password=DEMO_PASSWORD, actor=actor
            )
        group = Group.objects.for_company(company).filter(name=DEMO_GROUP).first() or group_create(
            company=company, name=DEMO_GROUP, actor=actor
        )
        for user in users.values():
            group_add_member(group=group, user=user, actor=actor)
        line = (
            f"Demo company '{company.slug}' is ready. Log in at http://127.0.0.1:8000/admin/ as "
            f"{DEMO_ADMIN[0]} with password {DEMO_PASSWORD} (plain user: {DEMO_USER[0]}, same password)."
        )
        return line, {
            "company": company.slug,
            "admin": DEMO_ADMIN[0],
            "user": DEMO_USER[0],
            "password": DEMO_PASSWORD,
            "group": group.name,
        }
