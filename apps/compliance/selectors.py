"""Reads for compliance: message searches over one company's conversations, result pages with highlighted
passages, the export's rows, one conversation in full, and the saved searches a compliance officer may see.

Every query starts from ``Message.objects.for_company(company)``: the full-text condition narrows that set, it
never widens it, so isolation does not depend on how a search string was built.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.accounts.models import ApplicationUser, Group
from apps.agents.models import Agent
from apps.chat.models import Conversation, Message
from apps.chat.selectors import conversation_documents
from apps.companies.models import Company
from apps.compliance.models import SavedSearch
from apps.compliance.search import PG_DOCUMENT, PG_INDEXED_CHARS, TextQuery, parse
from apps.documents.models import Document
from apps.scanners.models import ScanHit

ORDER_NEWEST = "newest"
ORDER_RANK = "rank"
# "Best match first" ranks the most recent matches only: ranking every match of a common word would parse and
# score hundreds of thousands of messages per page (docs/compliance.md says so; bench/compliance.py measures it).
RANK_CANDIDATES = 1000
# A text search first reads up to this many ids matching its text alone, through the full-text index. Fewer: the
# other filters narrow those (an exact count, and the page is sorted from them). As many: the text is common, and
# the page walks the newest messages testing each (a match comes every few rows). Without the probe, PostgreSQL
# walked a million messages for a word that matches none (1.4 s; bench/compliance.py).
EXACT_BELOW = 2000
SNIPPET_TOKENS = 24  # FTS5 snippet() tokens; PostgreSQL's MaxWords below is similar
PLAIN_EXCERPT_CHARS = 240
# Highlight markers: control characters no message is expected to hold; a stray one only misplaces a <mark>.
START, STOP = "\x02", "\x03"
# PostgreSQL's headline parser treats <tags> and &entities; as markup and drops them; these stand in for them.
PG_TRANSLATE = {"\x01": "<", "\x04": ">", "\x05": "&"}
PG_HEADLINE_OPTIONS = (
    'StartSel="\x02", StopSel="\x03", MaxWords=30, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "'
)


@dataclass(frozen=True)
class Criteria:
    """What to look for. Objects (user, group, agent) are already resolved within the company."""

    text: str = ""
    user: ApplicationUser | None = None
    group: Group | None = None
    agent: Agent | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    hits: tuple[str, ...] = ()
    flagged: bool = False
    feedback: str = ""
    order: str = ORDER_NEWEST

    @property
    def query(self) -> TextQuery:
        return parse(self.text)

    def as_dict(self) -> dict:
        """The criteria as the search form's fields (for the audit trail, saved searches and links)."""
        data: dict = {}
        if self.text:
            data["q"] = self.text
        if self.user is not None:
            data["user"] = self.user.userid
        if self.group is not None:
            data["group"] = str(self.group.pk)
        if self.agent is not None:
            data["agent"] = self.agent.public_id
        if self.date_from:
            data["date_from"] = self.date_from.isoformat()
        if self.date_to:
            data["date_to"] = self.date_to.isoformat()
        if self.hits:
            data["hits"] = list(self.hits)
        if self.flagged:
            data["flagged"] = "on"
        if self.feedback:
            data["feedback"] = self.feedback
        if self.order != ORDER_NEWEST:
            data["order"] = self.order
        return data


@dataclass
class ResultRow:
    message: Message
    snippet: SafeString
    hits: list[dict] = field(default_factory=list)
    score: float | None = None


@dataclass
class ResultPage:
    rows: list[ResultRow]
    page: int
    page_size: int
    total: int  # the matches, or at least this many when ``total_is_lower_bound``
    searchable: bool  # False: the text had no searchable word, nothing was searched
    total_is_lower_bound: bool = False

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def total_pages(self) -> int:
        """The pages known to exist (all of them unless ``total_is_lower_bound``)."""
        return max(1, -(-self.total // self.page_size))


# --- the search -------------------------------------------------------------------------------------------------


def message_search(*, company: Company | None, criteria: Criteria) -> QuerySet[Message]:
    """The company's messages matching ``criteria``, newest first (none when the text has no searchable word)."""
    messages = Message.objects.for_company(company)
    if company is None:
        return messages
    text_query = criteria.query
    if criteria.text.strip() and not text_query:
        return messages.none()
    if text_query:
        messages = messages.filter(_text_condition(text_query))
    if criteria.user is not None:
        messages = messages.filter(conversation__user=criteria.user)
    if criteria.group is not None:
        members = Group.members.through.objects.filter(group=criteria.group).values("applicationuser_id")
        messages = messages.filter(conversation__user_id__in=members)
    if criteria.agent is not None:
        messages = messages.filter(conversation__agent=criteria.agent)
    zone = _zone(company)
    if criteria.date_from:
        messages = messages.filter(created__gte=dt.datetime.combine(criteria.date_from, dt.time(), zone))
    if criteria.date_to:
        end = dt.datetime.combine(criteria.date_to + dt.timedelta(days=1), dt.time(), zone)
        messages = messages.filter(created__lt=end)
    company_hits = ScanHit.objects.filter(company=company, message_public_id=OuterRef("public_id"))
    if criteria.hits:
        messages = messages.filter(Exists(company_hits.filter(scanner__in=criteria.hits)))
    if criteria.flagged:
        messages = messages.filter(Q(conversation__has_flag=True) | Exists(company_hits))
    if criteria.feedback:
        messages = messages.filter(feedback=criteria.feedback)
    return messages.order_by("-created", "-id")


@contextmanager
def _custom_plans() -> Iterator[None]:
    """PostgreSQL plans these queries for their actual text: with the server-side binding of
    ``DATABASE_PREPARED_STATEMENTS``, a generic plan chosen after a few runs (it cannot know how common a word is)
    took a common word's page from 12 ms to 1.2 s. One ``SET LOCAL`` in a short transaction; nothing on SQLite."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


@contextmanager
def _bitmap_scans_only() -> Iterator[None]:
    """The probe reads through the full-text index whatever the estimates: PostgreSQL otherwise scanned the whole
    table for a phrase of two common words that matches a few hundred messages (600 ms). Inside ``_custom_plans``."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        try:
            yield
        finally:
            cursor.execute("SET LOCAL enable_seqscan = on")
            cursor.execute("SET LOCAL enable_indexscan = on")


# PostgreSQL's own estimate of the text's matches, above which the probe is skipped: a bitmap of every match of a
# common word costs ~0.5 s on a million messages, while walking the newest messages finds a page in a few ms.
PROBE_ESTIMATE_MAX = 50_000


def _probe(text_only: QuerySet[Message]) -> list[int] | None:
    """Up to ``EXACT_BELOW`` ids matching the text, read through the full-text index; None when PostgreSQL
    expects so many matches that the page is better found by walking the newest messages.

    Unordered: any ``EXACT_BELOW`` matches tell "as many" as well as the oldest ones, and the index's own order lets
    PostgreSQL stop reading at that many, where sorting first read and sorted every match (a word in 34,000 messages
    of 1,000,000: 124 ms ordered, 18 ms unordered; bench/oversight.py)."""
    text_only = text_only.order_by()
    ids = text_only.values_list("id", flat=True)[:EXACT_BELOW]
    if connection.vendor != "postgresql":
        return list(ids)
    sql, params = text_only.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    if plan[0]["Plan"]["Plan Rows"] > PROBE_ESTIMATE_MAX:
        return None
    with _bitmap_scans_only():
        return list(ids)


def search_page(*, company: Company | None, criteria: Criteria, page: int, page_size: int) -> ResultPage:
    with _custom_plans():
        return _search_page(company=company, criteria=criteria, page=page, page_size=page_size)


def _search_page(*, company: Company | None, criteria: Criteria, page: int, page_size: int) -> ResultPage:
    """One page of results with their highlighted passages and scanner hits: 3 queries (page, snippets, hits),
    plus the text probe (see ``EXACT_BELOW``), plus the ranking query for best match first.

    Searches are not counted beyond the page (counting every match of a common word or of "flagged only" costs
    more than the page): the page reads one row more, and ``total`` is then a lower bound (the rows up to this
    page, and one more when there is a next page). Text searches with fewer than ``EXACT_BELOW`` matches are exact."""
    text_query = criteria.query
    searchable = bool(text_query) or not criteria.text.strip()
    matches = message_search(company=company, criteria=criteria)
    offset = (page - 1) * page_size
    scores: dict[int, float] = {}
    if criteria.order == ORDER_RANK and text_query:
        candidates = list(matches.values_list("id", "created")[:RANK_CANDIDATES])
        scores = _scores(text_query, [pk for pk, _ in candidates])
        created = dict(candidates)
        ranked = sorted(scores, key=lambda pk: (-scores[pk], -created[pk].timestamp(), -pk))
        page_ids = ranked[offset : offset + page_size]
        by_id = _with_related(Message.objects.filter(pk__in=page_ids)).in_bulk(page_ids)
        messages = [by_id[pk] for pk in page_ids if pk in by_id]
        total, lower_bound = len(candidates), len(candidates) == RANK_CANDIDATES
    else:
        exact = None
        if text_query:
            # The text alone, through its index: the other filters could make the planner read far more rows.
            text_only = Message.objects.for_company(company).filter(_text_condition(text_query))
            ids = _probe(text_only)
            if ids is not None and len(ids) < EXACT_BELOW:
                matches = matches.filter(pk__in=ids)
                exact = matches.count()
        messages = list(_with_related(matches)[offset : offset + page_size + 1])
        more = len(messages) > page_size
        messages = messages[:page_size]
        if exact is not None:
            total, lower_bound = exact, False
        elif not more and (messages or offset == 0):
            total, lower_bound = offset + len(messages), False
        else:
            total, lower_bound = offset + len(messages) + (1 if more else 0), True
    rows = _rows(company, text_query, messages)
    for row in rows:
        row.score = scores.get(row.message.pk)
    return ResultPage(
        rows=rows, page=page, page_size=page_size, total=total, searchable=searchable, total_is_lower_bound=lower_bound
    )


EXPORT_FIELDS = {
    "created": "created",
    "messageId": "public_id",
    "conversationId": "conversation__public_id",
    "conversationTitle": "conversation__title",
    "user": "conversation__user__email",
    "userName": "conversation__user__name",
    "agent": "conversation__agent__name",
    "type": "message_type",
    "status": "status",
    "feedback": "feedback",
    "conversationFlagged": "conversation__has_flag",
    "cost": "cost",
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "text": "text",
}


def export_rows(*, company: Company | None, criteria: Criteria, chunk_size: int = 1000) -> Iterator[dict]:
    """Every matching message, newest first, as a flat dict (``EXPORT_FIELDS`` and ``pk``, ``hits``), read
    ``chunk_size`` at a time by keyset (created, id): memory holds one chunk of plain values whatever the number
    of matches, and no query or transaction stays open between chunks (nor while the client reads)."""
    matches = message_search(company=company, criteria=criteria)
    columns = {"pk": "id", **EXPORT_FIELDS}
    after: tuple[dt.datetime, int] | None = None
    while True:
        chunk = matches
        if after is not None:
            created, pk = after
            # The plain bound on ``created`` is what the recency index can start from: with the OR alone,
            # PostgreSQL walked every newer message again for each chunk (2 s a chunk 700,000 messages deep; a
            # 100,000-row export of a word in 13% of the messages ran at 1,100 rows/s, bench/oversight.py).
            chunk = chunk.filter(Q(created__lte=created), Q(created__lt=created) | Q(created=created, id__lt=pk))
        with _custom_plans():
            values = list(chunk.values_list(*columns.values())[:chunk_size])
        if not values:
            return
        rows = [dict(zip(columns, row, strict=True)) for row in values]
        del values
        hits = _hits_by_message(company, [row["messageId"] for row in rows])
        for row in rows:
            row["hits"] = hits.get(row["messageId"], [])
            if not row["conversationTitle"]:
                row["conversationTitle"] = f"Conversation {row['conversationId'][:8]}"
        after = (rows[-1]["created"], rows[-1]["pk"])
        size = len(rows)
        yield from rows
        if size < chunk_size:
            return


def _with_related(messages: QuerySet[Message]) -> QuerySet[Message]:
    return messages.select_related("conversation", "conversation__user", "conversation__agent")


def _zone(company: Company) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(company.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _pg_tsquery(text_query: TextQuery) -> tuple[str, list[str]]:
    """The tsquery SQL of ``text_query`` and its parameters: parts through websearch_to_tsquery, prefixes through
    to_tsquery (over words of letters and digits only, each quoted: never a syntax error)."""
    pieces, params = [], []
    if text_query.websearch():
        pieces.append("websearch_to_tsquery('english'::regconfig, %s)")
        params.append(text_query.websearch())
    if text_query.prefix_tsquery():
        pieces.append("to_tsquery('english'::regconfig, %s)")
        params.append(text_query.prefix_tsquery())
    return "(" + " && ".join(pieces) + ")", params


def _text_condition(text_query: TextQuery):
    if connection.vendor == "postgresql":
        tsquery, params = _pg_tsquery(text_query)
        return RawSQL(f"{PG_DOCUMENT} @@ {tsquery}", params, output_field=BooleanField())  # noqa: S611 - our SQL only
    # SQLite: the FTS5 table's matching rowids (message ids), inside the company-scoped queryset.
    return Q(
        id__in=RawSQL(
            "SELECT rowid FROM compliance_message_fts WHERE compliance_message_fts MATCH %s", [text_query.fts5()]
        )
    )


def _scores(text_query: TextQuery, ids: Sequence[int]) -> dict[int, float]:
    """Relevance of each of ``ids`` (higher is better): ts_rank on PostgreSQL, -bm25 on SQLite."""
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tsquery, params = _pg_tsquery(text_query)
            cursor.execute(
                f"SELECT id, ts_rank({PG_DOCUMENT}, {tsquery}) FROM chat_message WHERE id IN ({placeholders})",  # noqa: S608 - placeholders only
                [*params, *ids],
            )
        else:
            sql = "SELECT rowid, -bm25(compliance_message_fts) FROM compliance_message_fts WHERE "
            sql += f"compliance_message_fts MATCH %s AND rowid IN ({placeholders})"  # placeholders only
            cursor.execute(sql, [text_query.fts5(), *ids])
        return {pk: float(score) for pk, score in cursor.fetchall()}


def _snippets(text_query: TextQuery, ids: Sequence[int]) -> dict[int, str]:
    """The matched passages of ``ids`` with START/STOP around each match, as the database found them."""
    if not ids or not text_query:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tsquery, params = _pg_tsquery(text_query)
            sql = "SELECT id, ts_headline('english'::regconfig, "
            sql += f"translate(left(text, {PG_INDEXED_CHARS}), '<>&', chr(1) || chr(4) || chr(5)), {tsquery}, %s) "
            sql += f"FROM chat_message WHERE id IN ({placeholders})"
            cursor.execute(sql, [*params, PG_HEADLINE_OPTIONS, *ids])
            return {pk: _untranslate(text) for pk, text in cursor.fetchall()}
        sql = f"SELECT rowid, snippet(compliance_message_fts, 0, %s, %s, %s, {SNIPPET_TOKENS}) "
        sql += f"FROM compliance_message_fts WHERE compliance_message_fts MATCH %s AND rowid IN ({placeholders})"
        cursor.execute(sql, [START, STOP, "…", text_query.fts5(), *ids])
        return dict(cursor.fetchall())


def _untranslate(text: str) -> str:
    return text.translate(str.maketrans(PG_TRANSLATE))


def highlight_html(fragment: str) -> SafeString:
    """``fragment`` (START/STOP around matches) as HTML: every character of the message escaped, each match in
    <mark>. Markers are balanced whatever the text holds, so no tag is ever left open."""
    out: list[str] = []
    marked = False
    buffer: list[str] = []
    for char in fragment:
        if char in (START, STOP):
            out.append(escape("".join(buffer)))
            buffer = []
            if char == START and not marked:
                out.append("<mark>")
                marked = True
            elif char == STOP and marked:
                out.append("</mark>")
                marked = False
            continue
        buffer.append(char)
    out.append(escape("".join(buffer)))
    if marked:
        out.append("</mark>")
    return mark_safe("".join(out))  # noqa: S308 - every piece of text above is escaped


def plain_excerpt(text: str) -> SafeString:
    text = " ".join((text or "").replace(START, "").replace(STOP, "").split())
    if len(text) > PLAIN_EXCERPT_CHARS:
        text = text[:PLAIN_EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
    return escape(text)


def _rows(company: Company | None, text_query: TextQuery, messages: list[Message]) -> list[ResultRow]:
    snippets = _snippets(text_query, [m.pk for m in messages])
    hits = _hits_by_message(company, [m.public_id for m in messages])
    rows = []
    for message in messages:
        fragment = snippets.get(message.pk)
        snippet = highlight_html(fragment) if fragment and START in fragment else plain_excerpt(message.text)
        rows.append(ResultRow(message=message, snippet=snippet, hits=hits.get(message.public_id, [])))
    return rows


def _hits_by_message(company: Company | None, public_ids: Sequence[str]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    if not public_ids:
        return found
    rows = (
        ScanHit.objects.for_company(company)
        .filter(message_public_id__in=public_ids)
        .order_by("created", "id")
        .values("message_public_id", "scanner", "action", "direction", "score")
    )
    for row in rows:
        found[row.pop("message_public_id")].append(row)
    return found


# --- one conversation -------------------------------------------------------------------------------------------


@dataclass
class ConversationRecord:
    conversation: Conversation
    messages: list[Message]
    hits_by_message: dict[str, list[ScanHit]]
    other_hits: list[ScanHit]  # hits of the conversation that name no stored message (a blocked prompt)
    files: list[Document]

    @property
    def hit_count(self) -> int:
        return sum(len(hits) for hits in self.hits_by_message.values()) + len(self.other_hits)

    @property
    def cost(self) -> Decimal:
        return self.conversation.total_cost


def get_conversation_for_company(company: Company | None, public_id: str) -> Conversation:
    """The company's conversation (any user's, hidden ones included); Http404 otherwise."""
    conversation = (
        Conversation.objects.for_company(company)
        .filter(public_id=str(public_id)[:36])
        .select_related("user", "agent", "company")
        .first()
    )
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def conversation_record(*, conversation: Conversation) -> ConversationRecord:
    """Everything compliance sees of one conversation: every message, every scanner hit, its files. 4 queries."""
    company = conversation.company
    messages = list(Message.objects.for_company(company).filter(conversation=conversation).order_by("created", "id"))
    message_ids = {m.public_id for m in messages}
    hits = ScanHit.objects.for_company(company).filter(
        Q(conversation_public_id=conversation.public_id) | Q(message_public_id__in=message_ids)
    )
    by_message: dict[str, list[ScanHit]] = defaultdict(list)
    other: list[ScanHit] = []
    for hit in hits.order_by("created", "id"):
        if hit.message_public_id in message_ids:
            by_message[hit.message_public_id].append(hit)
        else:
            other.append(hit)
    files = list(conversation_documents(conversation=conversation))
    return ConversationRecord(conversation, messages, dict(by_message), other, files)


# --- saved searches ---------------------------------------------------------------------------------------------


def saved_search_list(*, company: Company | None, user: ApplicationUser | None) -> QuerySet[SavedSearch]:
    """The user's saved searches and those the company's other compliance officers shared, by name."""
    searches = SavedSearch.objects.for_company(company).select_related("owner")
    if user is None:
        return searches.filter(shared=True).order_by("name", "id")
    return searches.filter(Q(owner=user) | Q(shared=True)).order_by("name", "id")


def get_saved_search_for_user(
    company: Company | None, user: ApplicationUser | None, public_id: str, *, own: bool = False
) -> SavedSearch:
    """A saved search the user may run (theirs or shared), or, with ``own``, change; Http404 otherwise."""
    searches = saved_search_list(company=company, user=user)
    if own:
        searches = searches.filter(owner=user) if user is not None else searches.none()
    found = searches.filter(public_id=str(public_id)[:36]).first()
    if found is None:
        raise Http404("No such saved search.")
    return found
