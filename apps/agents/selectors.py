"""Reads of agents, always scoped to one company. ``agents_usable_by`` is the one answer to "which agents may
this user use": the chat pages and the Chat API ask only it."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import (
    Agent,
    AgentFile,
    AgentGroupGrant,
    AgentTemplate,
    AgentUserGrant,
    CompanyProfile,
    ProviderCredential,
    UserDefaultAgent,
)
from apps.companies.models import Company
from apps.companies.selectors import get_for_company


def agent_list(*, company: Company | None) -> QuerySet[Agent]:
    """The company's agents that are not deleted, by name."""
    return Agent.objects.for_company(company).alive().order_by("name", "id")


def get_agent_for_company(company: Company | None, public_id: str) -> Agent:
    """The company's (not deleted) agent with this public id; Http404 otherwise, also for another company's."""
    return get_for_company(Agent.objects.alive(), company, public_id=public_id)


def agents_usable_by(*, user: ApplicationUser) -> QuerySet[Agent]:
    """The agents ``user`` may chat with: granted to them directly or to one of their groups, active, not
    deleted, of their own company. One query (the grants are subqueries)."""
    if not user.is_active or user.company_id is None:
        return Agent.objects.none()
    direct = AgentUserGrant.objects.filter(user_id=user.pk).values("agent_id")
    via_groups = AgentGroupGrant.objects.filter(group__members=user.pk).values("agent_id")
    return (
        Agent.objects.filter(company_id=user.company_id, company__is_active=True)
        .usable()
        .filter(Q(pk__in=direct) | Q(pk__in=via_groups))
        .order_by("name", "id")
    )


def agent_may_be_used_by(*, agent: Agent, user: ApplicationUser) -> bool:
    return agents_usable_by(user=user).filter(pk=agent.pk).exists()


def agent_default_for_user(*, user: ApplicationUser) -> Agent | None:
    """The agent a user's chat opens with: their own default, else the company's, if they may use it."""
    usable = agents_usable_by(user=user)
    choice = UserDefaultAgent.objects.filter(user_id=user.pk).values("agent_id")
    company_default = CompanyProfile.objects.filter(company_id=user.company_id).values("default_agent_id")
    return usable.filter(pk__in=choice).first() or usable.filter(pk__in=company_default).first()


def user_default_agent(*, user: ApplicationUser) -> Agent | None:
    """The default the admin set for this user (whether or not they may still use it)."""
    choice = UserDefaultAgent.objects.filter(user_id=user.pk).select_related("agent").first()
    return choice.agent if choice is not None and not choice.agent.is_deleted else None


def agents_granted_to_user(*, user: ApplicationUser) -> QuerySet[Agent]:
    """The agents granted to the user directly (not through groups)."""
    return Agent.objects.for_company(user.company).alive().filter(user_grants__user=user).order_by("name", "id")


def agents_granted_to_group(*, group: Group) -> QuerySet[Agent]:
    return Agent.objects.for_company(group.company).alive().filter(group_grants__group=group).order_by("name", "id")


def groups_granted(*, agent: Agent) -> QuerySet[Group]:
    return Group.objects.for_company(agent.company).filter(agent_grants__agent=agent).order_by("name")


def users_granted(*, agent: Agent) -> QuerySet[ApplicationUser]:
    return ApplicationUser.objects.for_company(agent.company).filter(agent_grants__agent=agent).order_by("email")


def agent_files(*, agent: Agent) -> QuerySet[AgentFile]:
    return AgentFile.objects.for_company(agent.company).filter(agent=agent).order_by("name", "id")


def provider_credential_for(*, company: Company, engine: str) -> ProviderCredential | None:
    return ProviderCredential.objects.for_company(company).filter(engine=engine).first()


def company_profile_for(*, company: Company) -> CompanyProfile:
    """The company's profile row (made on first use: it holds only optional settings)."""
    profile, _ = CompanyProfile.objects.get_or_create(company=company)
    return profile


def template_list() -> QuerySet[AgentTemplate]:
    return AgentTemplate.objects.order_by("name", "id")
