"""Who may use which agent (one selector, one query), defaults, and templates published into companies."""

import pytest
from django.core.exceptions import ValidationError

from apps.accounts.services import group_add_member, group_remove_member
from apps.agents.models import Agent
from apps.agents.selectors import agent_default_for_user, agents_usable_by
from apps.agents.services import (
    agent_create_from_template,
    agent_delete,
    agent_grant_group,
    agent_grant_user,
    agent_revoke_group,
    agent_template_create,
    agent_template_publish,
    agent_update,
    company_profile_update,
    group_set_agents,
    user_set_default_agent,
)
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.companies.services import company_create
from tests.factories import AgentFactory, AgentTemplateFactory, GroupFactory, UserFactory

SYSTEM = Actor.system()


def test_usable_agents_come_from_direct_and_group_grants_in_one_query(
    company, plain_user, group, django_assert_num_queries
):
    direct, via_group, both, _ungranted = (AgentFactory(company=company, name=n) for n in "ABCD")
    group_add_member(group=group, user=plain_user, actor=SYSTEM)
    agent_grant_user(company=company, agent=direct, user=plain_user, actor=SYSTEM)
    agent_grant_group(company=company, agent=via_group, group=group, actor=SYSTEM)
    agent_grant_user(company=company, agent=both, user=plain_user, actor=SYSTEM)
    agent_grant_group(company=company, agent=both, group=group, actor=SYSTEM)

    with django_assert_num_queries(1):
        usable = list(agents_usable_by(user=plain_user))

    assert [agent.name for agent in usable] == ["A", "B", "C"]


def test_usable_agents_leave_out_inactive_deleted_and_other_people(company, plain_user, admin_user):
    active, inactive, deleted = (AgentFactory(company=company, name=n) for n in ("active", "inactive", "deleted"))
    for agent in (active, inactive, deleted):
        agent_grant_user(company=company, agent=agent, user=plain_user, actor=SYSTEM)
    agent_update(company=company, agent=inactive, actor=SYSTEM, is_active=False)
    agent_delete(company=company, agent=deleted, actor=SYSTEM)

    assert [a.name for a in agents_usable_by(user=plain_user)] == ["active"]
    assert list(agents_usable_by(user=admin_user)) == []


def test_an_inactive_user_may_use_no_agent(company):
    user = UserFactory(company=company, is_active=False)
    agent_grant_user(company=company, agent=AgentFactory(company=company), user=user, actor=SYSTEM)

    assert list(agents_usable_by(user=user)) == []


def test_leaving_the_group_takes_its_agents_away(company, plain_user, group):
    agent = AgentFactory(company=company)
    group_add_member(group=group, user=plain_user, actor=SYSTEM)
    agent_grant_group(company=company, agent=agent, group=group, actor=SYSTEM)
    assert list(agents_usable_by(user=plain_user)) == [agent]

    group_remove_member(group=group, user=plain_user, actor=SYSTEM)

    assert list(agents_usable_by(user=plain_user)) == []


def test_grants_across_companies_are_refused(company, other_company, plain_user, other_user, other_group):
    agent = AgentFactory(company=company)
    foreign = AgentFactory(company=other_company)

    with pytest.raises(ValidationError):
        agent_grant_user(company=company, agent=agent, user=other_user, actor=SYSTEM)
    with pytest.raises(ValidationError):
        agent_grant_group(company=company, agent=agent, group=other_group, actor=SYSTEM)
    with pytest.raises(ValidationError, match="another company"):
        agent_grant_user(company=company, agent=foreign, user=plain_user, actor=SYSTEM)
    with pytest.raises(ValidationError, match="another company"):
        group_set_agents(company=company, group=GroupFactory(company=company), agents=[foreign], actor=SYSTEM)
    assert list(agents_usable_by(user=plain_user)) == []
    assert list(agents_usable_by(user=other_user)) == []


def test_granting_twice_is_one_grant_and_one_audit_event(company, group):
    agent = AgentFactory(company=company)

    assert agent_grant_group(company=company, agent=agent, group=group, actor=SYSTEM) is True
    assert agent_grant_group(company=company, agent=agent, group=group, actor=SYSTEM) is False
    assert agent_revoke_group(company=company, agent=agent, group=group, actor=SYSTEM) is True

    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        "agent.granted_to_group",
        "agent.revoked_from_group",
    ]


def test_default_agent_must_be_one_the_user_may_use(company, plain_user):
    granted, other = AgentFactory(company=company), AgentFactory(company=company)
    agent_grant_user(company=company, agent=granted, user=plain_user, actor=SYSTEM)

    with pytest.raises(ValidationError, match="may not use"):
        user_set_default_agent(company=company, user=plain_user, agent=other, actor=SYSTEM)
    user_set_default_agent(company=company, user=plain_user, agent=granted, actor=SYSTEM)

    assert agent_default_for_user(user=plain_user) == granted


def test_the_company_default_applies_to_users_without_their_own_if_they_may_use_it(company, plain_user, admin_user):
    agent = AgentFactory(company=company)
    company_profile_update(company=company, actor=SYSTEM, default_agent=agent)
    agent_grant_user(company=company, agent=agent, user=plain_user, actor=SYSTEM)

    assert agent_default_for_user(user=plain_user) == agent
    assert agent_default_for_user(user=admin_user) is None  # not granted to them


def test_company_default_agent_of_another_company_is_refused(company, other_company):
    with pytest.raises(ValidationError, match="another company"):
        company_profile_update(company=company, actor=SYSTEM, default_agent=AgentFactory(company=other_company))


def test_template_holds_no_keys(db):
    with pytest.raises(ValidationError, match="no keys"):
        agent_template_create(actor=SYSTEM, name="T", engine="openai", model="gpt-4o", api_key="sk-x")


def test_agent_from_a_template_is_an_independent_copy_without_keys(company):
    template = AgentTemplateFactory(name="Policy helper", instructions="Quote the policy.", temperature=0.3)

    agent = agent_create_from_template(company=company, template=template, actor=SYSTEM)
    template.instructions = "Changed later."
    template.save()

    agent.refresh_from_db()
    assert (agent.name, agent.instructions, agent.temperature) == ("Policy helper", "Quote the policy.", 0.3)
    assert (agent.api_key, agent.company, agent.template) == ("", company, template)


def test_publishing_a_template_copies_it_into_every_company_once_and_into_new_ones(company, other_company):
    template = agent_template_create(
        actor=SYSTEM, name="Default helper", engine="mistral", model="mistral-small-latest"
    )

    assert agent_template_publish(template=template, actor=SYSTEM) == 2
    assert agent_template_publish(template=template, actor=SYSTEM) == 0
    newcomer = company_create(name="Newcomer", actor=SYSTEM)

    copies = Agent.objects.filter(template=template)
    assert sorted(copies.values_list("company__slug", flat=True)) == ["acme", "globex", "newcomer"]
    assert Agent.objects.get(company=newcomer).name == "Default helper"


def test_an_unpublished_template_does_not_reach_new_companies(db):
    agent_template_create(actor=SYSTEM, name="Draft", engine="openai", model="gpt-4o")

    newcomer = company_create(name="Newcomer", actor=SYSTEM)

    assert not Agent.objects.filter(company=newcomer).exists()
