"""Reads of scanner settings and hits, always scoped to a company."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import QuerySet

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.scanners.models import AgentScannerOverride, ScanHit, ScannerDefault
from apps.scanners.registry import SCANNERS, ScannerConfigError

logger = logging.getLogger(__name__)


def _parsed(name: str, data: Any, where: str) -> Any:
    try:
        return SCANNERS[name].parse(data)
    except ScannerConfigError:
        # Stored rows are validated on write; one edited by hand falls back to the safe default, loudly.
        logger.warning("invalid stored %s settings for scanner %s; using the default", where, name)
        return SCANNERS[name].default_settings()


def scanner_settings_for(company: Company | None, agent: Agent | None = None) -> dict[str, Any]:
    """The enabled scanners and their settings: the agent's override, else the company default, else the
    out-of-the-box default (every scanner enabled with its settings class's defaults). Two queries."""
    resolved: dict[str, tuple[bool, Any]] = {name: (True, spec.default_settings()) for name, spec in SCANNERS.items()}
    if company is None:
        return {name: settings for name, (enabled, settings) in resolved.items() if enabled}
    for row in ScannerDefault.objects.for_company(company).filter(scanner__in=SCANNERS):
        resolved[row.scanner] = (row.enabled, _parsed(row.scanner, row.settings, "company"))
    if agent is not None:
        if agent.company_id != company.pk:
            raise ValueError("the agent belongs to another company")
        for row in AgentScannerOverride.objects.for_company(company).filter(agent=agent, scanner__in=SCANNERS):
            resolved[row.scanner] = (row.enabled, _parsed(row.scanner, row.settings, "agent"))
    return {name: settings for name, (enabled, settings) in resolved.items() if enabled}


def company_scanner_rows(company: Company | None) -> dict[str, ScannerDefault]:
    return {row.scanner: row for row in ScannerDefault.objects.for_company(company)}


def agent_override_rows(company: Company | None, agent: Agent) -> dict[str, AgentScannerOverride]:
    return {row.scanner: row for row in AgentScannerOverride.objects.for_company(company).filter(agent=agent)}


def scan_hits(*, company: Company | None) -> QuerySet[ScanHit]:
    return ScanHit.objects.for_company(company)


def scan_hits_of_message(*, company: Company | None, message_public_id: str) -> QuerySet[ScanHit]:
    return ScanHit.objects.for_company(company).filter(message_public_id=message_public_id)
