"""Reads of scanner settings and hits, always scoped to a company."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.db.models import IntegerField, QuerySet, Value

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.core.statements import Statement
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
    out-of-the-box default (every scanner enabled with its settings class's defaults). One query (it runs before
    every prompt: the company's rows and the agent's in one UNION ALL)."""
    return scanner_settings_later(company, agent)()


def scanner_settings_later(company: Company | None, agent: Agent | None = None) -> Callable[[], dict[str, Any]]:
    """``scanner_settings_for`` in two steps: its query is sent now (inside ``apps.core.statements.together`` with
    the other reads of a prompt, in the same round trip), and the returned function makes the settings of its
    rows. Only ``agent.pk`` and ``agent.company_id`` are read."""
    if agent is not None and company is not None and agent.company_id != company.pk:
        raise ValueError("the agent belongs to another company")
    if company is None:
        return lambda: _resolved([])
    sent = _SETTINGS_ROWS.send(company_pk=company.pk, agent_pk=agent.pk if agent is not None else 0)
    return lambda: _resolved(sent.rows())


def _resolved(rows: list[tuple]) -> dict[str, Any]:
    """The enabled scanners' settings from the stored rows (the agent's win over the company's); a disabled
    scanner's settings are not even parsed, and the defaults are made only for scanners without a row."""
    chosen: dict[str, tuple[bool, Any, str]] = {}
    for level, scanner, enabled, data in sorted(rows, key=lambda row: row[0]):  # the agent's rows win
        chosen[scanner] = (bool(enabled), data, "agent" if level else "company")
    resolved: dict[str, Any] = {}
    for name, spec in SCANNERS.items():
        enabled, data, where = chosen.get(name, (True, None, ""))
        if not enabled:
            continue
        if not where:
            resolved[name] = spec.default_settings()
            continue
        if isinstance(data, str):  # SQLite returns the JSON as text
            data = json.loads(data)
        resolved[name] = _parsed(name, data, where)
    return resolved


def _settings_rows_query(*, company_pk: int, agent_pk: int) -> QuerySet:
    # agent_pk 0: no agent (no row has primary key 0).
    fields = ("level", "scanner", "enabled", "settings")
    company = Company(pk=company_pk)
    defaults = ScannerDefault.objects.for_company(company).filter(scanner__in=SCANNERS).order_by()
    overrides = (
        AgentScannerOverride.objects.for_company(company).filter(agent_id=agent_pk, scanner__in=SCANNERS).order_by()
    )
    return (
        defaults.annotate(level=Value(0, output_field=IntegerField()))
        .values_list(*fields)
        .union(overrides.annotate(level=Value(1, output_field=IntegerField())).values_list(*fields), all=True)
    )


# Read before every prompt: the SQL is built once per process.
_SETTINGS_ROWS = Statement(_settings_rows_query)


def company_scanner_rows(company: Company | None) -> dict[str, ScannerDefault]:
    return {row.scanner: row for row in ScannerDefault.objects.for_company(company)}


def agent_override_rows(company: Company | None, agent: Agent) -> dict[str, AgentScannerOverride]:
    return {row.scanner: row for row in AgentScannerOverride.objects.for_company(company).filter(agent=agent)}


def scan_hits(*, company: Company | None) -> QuerySet[ScanHit]:
    return ScanHit.objects.for_company(company)


def scan_hits_of_message(*, company: Company | None, message_public_id: str) -> QuerySet[ScanHit]:
    return ScanHit.objects.for_company(company).filter(message_public_id=message_public_id)
