"""An element's period as a range of days in the company's time zone, and the period before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from apps.companies.models import Company
from apps.dashboards.models import Period
from apps.dashboards.rollups import company_zone


@dataclass(frozen=True)
class DayRange:
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DayRange:
        """The period of equal length just before this one."""
        return DayRange(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def label(self) -> str:
        if self.start == self.end:
            return self.start.strftime("%-d %b %Y")
        return f"{self.start.strftime('%-d %b %Y')} to {self.end.strftime('%-d %b %Y')}"

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days, "label": self.label()}


def company_today(company: Company) -> date:
    return timezone.now().astimezone(company_zone(company)).date()


def resolve_period(period: str, *, today: date, start: date | None = None, end: date | None = None) -> DayRange:
    """The days of ``period`` as seen on ``today`` (the company's today)."""
    if period == Period.LAST_7:
        return DayRange(today - timedelta(days=6), today)
    if period == Period.LAST_30:
        return DayRange(today - timedelta(days=29), today)
    if period == Period.LAST_90:
        return DayRange(today - timedelta(days=89), today)
    if period == Period.THIS_MONTH:
        return DayRange(today.replace(day=1), today)
    if period == Period.LAST_MONTH:
        last_day = today.replace(day=1) - timedelta(days=1)
        return DayRange(last_day.replace(day=1), last_day)
    if period == Period.CUSTOM and start and end:
        return DayRange(min(start, end), max(start, end))
    raise ValueError(f"Unknown or incomplete period {period!r}")
