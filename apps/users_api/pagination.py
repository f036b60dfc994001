"""Page-number pagination: ``page`` (1-based) and ``pageSize``, with an RFC 8288 ``Link`` header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, QuerySet, Window
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
    """One page of ``queryset`` and the total in one query: each row carries ``COUNT(*) OVER ()``, the number of
    rows before LIMIT (the database scans what a count query would, without another round trip; per-row
    expressions such as a user's groups are still computed for the page's rows only). A page beyond the end has no
    row to carry the total and costs one count query."""
    offset = (page - 1) * page_size
    rows = list(queryset.annotate(page_total=Window(Count("*")))[offset : offset + page_size])
    if rows:
        first = rows[0]
        total = first["page_total"] if isinstance(first, dict) else first.page_total
    else:
        total = 0 if offset == 0 else queryset.count()
    return Page(items=rows, page=page, page_size=page_size, total=total)
