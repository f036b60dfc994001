"""Page-number pagination: ``page`` (1-based) and ``pageSize``, with an RFC 8288 ``Link`` header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from rest_framework.request import Request

from apps.users_api.serializers import total_pages


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    page_size: int
    total: int

    @property
    def total_pages(self) -> int:
        return total_pages(self.total, self.page_size)

    def body(self, data: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "data": data,
            "page": self.page,
            "pageSize": self.page_size,
            "totalCount": self.total,
            "totalPages": self.total_pages,
        }

    def link_header(self, request: Request) -> str:
        """``first``, ``prev``, ``next`` and ``last`` links that keep every other query parameter."""
        base = request.build_absolute_uri(request.path)
        query = {key: value for key, value in request.query_params.items() if key != "page"}

        def link(page: int, rel: str) -> str:
            return f'<{base}?{urlencode({**query, "page": page})}>; rel="{rel}"'

        last = self.total_pages
        links = [link(1, "first")]
        if self.page > 1 and last >= 1:
            # From beyond the end, "prev" leads back to the last page that has items.
            links.append(link(min(self.page - 1, last), "prev"))
        if self.page < last:
            links.append(link(self.page + 1, "next"))
        if last >= 1:
            links.append(link(last, "last"))
        return ", ".join(links)


def paginate(queryset: QuerySet, *, page: int, page_size: int) -> Page:
    """One page of ``queryset``, reading one row past the page: when that row is absent and the page is not
    empty, the page itself tells the total and the count query is skipped (always so for a company with no more
    users than one page). A page beyond the end costs one count query."""
    offset = (page - 1) * page_size
    rows = list(queryset[offset : offset + page_size + 1])
    items = rows[:page_size]
    total = offset + len(rows) if rows and len(rows) <= page_size else queryset.count()
    return Page(items=items, page=page, page_size=page_size, total=total)
