from django.core.management.base import CommandError
from django.db import transaction

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent
from apps.agents.services import agent_grant_group, agent_grant_user, user_set_default_agent
from apps.audit.services import Actor
from apps.core.commands import AIRiskCommand


class Command(AIRiskCommand):
    help = (
        "Let a group's members or one user use an agent. --default also makes it the default agent of that user "
        "(or of every current member of the group)."
    )

    def add_command_arguments(self, parser) -> None:
        parser.add_argument("--agent", required=True, metavar="ID", help="The agent's id (create_agent prints it).")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--group", metavar="NAME", help="A group of the agent's company.")
        target.add_argument("--user", metavar="EMAIL", help="A user of the agent's company.")
        parser.add_argument("--default", action="store_true", help="Also make it their default agent.")

    @transaction.atomic
    def run(self, **options):
        agent = Agent.objects.alive().select_related("company").filter(public_id=options["agent"]).first()
        if agent is None:
            raise CommandError(f"Unknown agent: {options['agent']}")
        company, actor = agent.company, Actor.system()
        if options["group"] is not None:
            group = Group.objects.for_company(company).filter(name=options["group"]).first()
            if group is None:
                raise CommandError(f"{company.slug} has no group named {options['group']!r}.")
            granted = agent_grant_group(company=company, agent=agent, group=group, actor=actor)
            people = list(group.members.filter(is_active=True)) if options["default"] else []
            target, data = f"group {group.name}", {"group": group.name}
        else:
            user = ApplicationUser.objects.filter(email__iexact=options["user"].strip()).first()
            if user is None or user.company_id != company.pk:
                # Another company's user is told apart from a missing one by nothing.
                raise CommandError(f"{company.slug} has no user {options['user']}.")
            granted = agent_grant_user(company=company, agent=agent, user=user, actor=actor)
            people = [user] if options["default"] else []
            target, data = f"user {user.email}", {"user": user.email}
        for person in people:
            user_set_default_agent(company=company, user=person, agent=agent, actor=actor)
        state = "Granted" if granted else "Already granted:"
        default = f"; default agent of {len(people)} user(s)" if options["default"] else ""
        return (
            f"{state} {agent.name} ({agent.public_id}) to {target}{default}.",
            {"agent": agent.public_id, **data, "granted": granted, "default": bool(options["default"])},
        )
