"""Receivers of the lower apps' signals (connected in AgentsConfig.ready)."""

from django.dispatch import receiver

from apps.agents.services import agent_templates_publish_into
from apps.companies.signals import company_created


@receiver(company_created, dispatch_uid="agents.publish_templates_into_new_company")
def publish_templates_into_new_company(sender, *, company, actor, **kwargs) -> int:
    return agent_templates_publish_into(company=company, actor=actor)
