"""Each element kind's numbers against the hand-counted history of conftest.py (today = 20 March 2026)."""

from datetime import date

import pytest

from apps.audit.services import Actor
from apps.dashboards.data import element_data
from apps.dashboards.rollups import exchange_add, hits_add
from apps.dashboards.services import dashboard_create, element_create
from apps.dashboards.tests.conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(company, admin_user):
    return dashboard_create(company=company, actor=Actor(user=admin_user), owner=admin_user, name="Tests")


@pytest.fixture
def numbers(company, admin_user, board):
    def make(kind: str, **fields) -> dict:
        fields.setdefault("title", "t")
        fields.setdefault("period", "last_7")
        element = element_create(company=company, actor=Actor(user=admin_user), dashboard=board, kind=kind, **fields)
        return element_data(element, today=TODAY)

    return make


def rows(data) -> list[tuple]:
    return [(row["label"], row["value"]) for row in data["rows"]]


# -- Top N ---------------------------------------------------------------------------------------------------


def test_top_users_by_tokens_and_cost(history, numbers):
    assert rows(numbers("top_n", subject="users", measure="tokens")) == [("Uma One", 450), ("Ugo Two", 300)]
    assert rows(numbers("top_n", subject="users", measure="cost")) == [("Uma One", 1.5), ("Ugo Two", 0.25)]


def test_top_agents_by_messages_counts_prompt_and_answer_but_not_blocked_prompts(history, numbers):
    assert rows(numbers("top_n", subject="agents", measure="messages")) == [("Agent A", 4), ("Agent B", 2)]


def test_top_groups_sum_their_members(history, numbers):
    assert rows(numbers("top_n", subject="groups", measure="exchanges")) == [("Everyone", 4), ("Finance", 2)]


def test_top_scanner_kinds_by_hits_include_the_scanner_api(history, numbers):
    data = numbers("top_n", subject="scanners", measure="hits")
    assert rows(data) == [("pii", 2), ("prompt_injection", 1)]
    assert rows(numbers("top_n", subject="scanners", measure="blocked")) == [("prompt_injection", 1)]


def test_top_users_by_hits_count_only_chat_hits(history, numbers):
    # A tie keeps the order in which the people were added.
    assert rows(numbers("top_n", subject="users", measure="hits")) == [("Uma One", 1), ("Ugo Two", 1)]


def test_top_n_keeps_n_rows(history, numbers):
    assert rows(numbers("top_n", subject="users", measure="tokens", limit=3, period="last_90")) == [
        ("Ugo Two", 1300),
        ("Uma One", 650),
    ]


# -- Charts --------------------------------------------------------------------------------------------------


def test_line_chart_by_day_split_by_agent(history, numbers):
    data = numbers("chart", chart_type="line", measure="exchanges", interval="day", split="agent")
    assert data["buckets"] == [f"2026-03-{day}" for day in range(14, 21)]
    assert data["labels"][0] == "14 Mar"
    assert {d["label"]: d["data"] for d in data["datasets"]} == {
        "Agent A": [0, 0, 0, 0, 0, 0, 2],
        "Agent B": [0, 1, 1, 0, 0, 0, 0],
    }


def test_bar_chart_by_week_and_by_month(history, numbers):
    weekly = numbers("chart", chart_type="bar", measure="exchanges", interval="week")
    assert weekly["buckets"] == ["2026-03-09", "2026-03-16"]
    assert weekly["datasets"] == [{"label": "Exchanges (prompts)", "data": [1, 3]}]
    monthly = numbers("chart", chart_type="bar", measure="tokens", interval="month", period="last_90")
    assert monthly["labels"] == ["Dec 2025", "Jan 2026", "Feb 2026", "Mar 2026"]
    assert monthly["datasets"][0]["data"] == [0, 0, 1000, 950]


def test_line_chart_of_cost_split_by_user(history, numbers):
    data = numbers("chart", chart_type="line", measure="cost", interval="week", split="user")
    assert {d["label"]: d["data"] for d in data["datasets"]} == {"Uma One": [0, 1.5], "Ugo Two": [0, 0.25]}
    assert data["unit"] == "USD"


def test_doughnut_by_outcome_leaves_out_empty_slices(history, numbers):
    data = numbers("chart", chart_type="doughnut", category="outcome")
    assert (data["labels"], data["values"]) == (["Completed", "Failed", "Blocked"], [2, 1, 1])


def test_doughnut_by_channel_scanner_and_agent(history, numbers):
    channel = numbers("chart", chart_type="doughnut", category="channel")
    assert (channel["labels"], channel["values"]) == (["API", "Web"], [2, 2])
    scanner = numbers("chart", chart_type="doughnut", category="scanner")
    assert (scanner["labels"], scanner["values"], scanner["measure"]) == (["pii", "prompt_injection"], [2, 1], "hits")
    agent = numbers("chart", chart_type="doughnut", category="agent", measure="tokens")
    assert (agent["labels"], agent["values"]) == (["Agent A", "Agent B"], [450, 300])


# -- Totals --------------------------------------------------------------------------------------------------


def test_totals_with_the_change_against_the_previous_period(history, numbers):
    data = numbers("totals")
    metrics = {m["key"]: (m["value"], m["previous"], m["change_text"]) for m in data["metrics"]}
    assert metrics == {
        "conversations": (2, 1, "+100%"),
        "messages": (6, 2, "+200%"),
        "tokens": (750, 200, "+275%"),
        "cost": (1.75, 0.5, "+250%"),
        "flagged": (2, 0, "new"),
        "active_users": (2, 1, "+100%"),
    }
    assert data["period"]["start"] == "2026-03-14" and data["previous_period"] == {
        "start": "2026-03-07",
        "end": "2026-03-13",
        "days": 7,
        "label": "7 Mar 2026 to 13 Mar 2026",
    }


def test_totals_going_down_read_as_a_negative_change(history, numbers):
    data = numbers("totals", period="custom", start_date=date(2026, 3, 10), end_date=date(2026, 3, 14))
    metrics = {m["key"]: m["change_text"] for m in data["metrics"]}
    # 10-14 March (r5) against 5-9 March (nothing): new; then 15-19 March against 10-14 March.
    assert metrics["messages"] == "new"
    later = numbers("totals", period="custom", start_date=date(2026, 3, 15), end_date=date(2026, 3, 19))
    changes = {m["key"]: (m["value"], m["previous"], m["change_text"]) for m in later["metrics"]}
    assert changes["messages"] == (2, 2, "±0%")
    assert changes["tokens"] == (300, 200, "+50%")
    assert changes["cost"] == (0.25, 0.5, "-50%")


def test_month_periods(history, numbers):
    this_month = numbers("totals", period="this_month")
    last_month = numbers("totals", period="last_month")
    assert (this_month["period"]["start"], this_month["period"]["end"]) == ("2026-03-01", "2026-03-20")
    assert (last_month["period"]["start"], last_month["period"]["end"]) == ("2026-02-01", "2026-02-28")
    assert {m["key"]: m["value"] for m in last_month["metrics"]}["tokens"] == 1000
    assert {m["key"]: m["value"] for m in this_month["metrics"]}["conversations"] == 3


# -- Maps ----------------------------------------------------------------------------------------------------


def test_map_of_prompts_and_of_blocked_prompts(history, numbers):
    prompts = numbers("map", map_measure="prompts")
    assert prompts["countries"] == [
        {"code": "US", "name": "United States of America", "value": 2},
        {"code": "DE", "name": "Germany", "value": 1},
    ]
    assert (prompts["internal"], prompts["max"]) == (1, 2)
    blocked = numbers("map", map_measure="blocked")
    assert (blocked["countries"], blocked["internal"]) == ([], 1)


# -- Filters -------------------------------------------------------------------------------------------------


def totals_of(data) -> dict:
    return {m["key"]: m["value"] for m in data["metrics"]}


def test_filters_by_agent_group_user_and_channel(history, numbers):
    assert totals_of(numbers("totals", agent=history["agent_b"]))["messages"] == 2
    assert totals_of(numbers("totals", group=history["finance"]))["tokens"] == 450
    assert totals_of(numbers("totals", user=history["u2"]))["tokens"] == 300
    assert totals_of(numbers("totals", channel="api"))["active_users"] == 1
    web = numbers("map", map_measure="prompts", channel="web")
    assert (web["countries"], web["internal"]) == ([{"code": "US", "name": "United States of America", "value": 2}], 0)
    assert rows(numbers("top_n", subject="scanners", measure="hits", agent=history["agent_a"])) == [("pii", 2)]
    assert numbers("totals", agent=history["agent_b"], channel="web")["filters"] == "agent Agent B, channel Web"


def test_another_companys_activity_never_counts(history, numbers):
    assert totals_of(numbers("totals"))["cost"] == 1.75
    assert "Xena" not in [label for label, _ in rows(numbers("top_n", subject="users", measure="cost"))]


# -- Rollups -------------------------------------------------------------------------------------------------


def test_the_signal_receivers_keep_the_same_rollups_as_a_rebuild(history, company):
    from apps.dashboards.rollups import HIT_COUNTERS, HIT_LEVELS, USAGE_COUNTERS, USAGE_LEVELS

    levels = [(model, fields, USAGE_COUNTERS) for model, fields in USAGE_LEVELS]
    levels += [(model, fields, HIT_COUNTERS) for model, fields in HIT_LEVELS]

    def snapshot():
        return [sorted(model.objects.filter(company=company).values_list(*fields, *counters))
                for model, fields, counters in levels]  # fmt: skip

    rebuilt = snapshot()
    for model, _, _ in levels:
        model.objects.filter(company=company).delete()
    records, hits = history["records"], history["hits"]
    by_record = {"r2": [hits[0]], "r4": [hits[1]]}
    for name in ("r6", "r5", "r4", "r3", "r1", "r2"):
        exchange_add(records[name], by_record.get(name, []))
    hits_add(company, [hits[2]], source="api")

    assert snapshot() == rebuilt
    # Full usage, per user, per agent and channel; full hits, per agent and scanner.
    assert [len(rows) for rows in rebuilt] == [5, 5, 5, 3, 3]


def test_days_are_the_companys_days(history, company, numbers):
    from datetime import UTC, datetime

    from apps.dashboards.rollups import rollups_rebuild

    late = history["records"]["r5"]
    late.created = datetime(2026, 3, 13, 20, tzinfo=UTC)  # 14 March in Tokyo
    late.save(update_fields=["created"])
    assert totals_of(numbers("totals"))["tokens"] == 750
    company.time_zone = "Asia/Tokyo"
    company.save(update_fields=["time_zone"])
    rollups_rebuild(company)

    assert totals_of(numbers("totals"))["tokens"] == 950


def test_split_series_and_other_add_up_to_the_unsplit_chart(company, admin_user):
    from io import StringIO

    from django.core.management import call_command

    from tests.factories import AgentFactory

    AgentFactory(company=company, name="Helper", input_price_per_million=2, output_price_per_million=8)
    call_command("seed_activity", "--company", "acme", "--conversations", "150", "--days", "30", "--users", "12",
                 "--quiet", stdout=StringIO())  # fmt: skip
    dashboard = dashboard_create(company=company, actor=Actor(user=admin_user), owner=admin_user, name="Seeded")

    def chart(**fields):
        element = element_create(company=company, actor=Actor(user=admin_user), dashboard=dashboard, kind="chart",
                                 title="t", chart_type="bar", period="last_30", **fields)  # fmt: skip
        return element_data(element)

    for interval in ("day", "week", "month"):
        whole = chart(measure="tokens", interval=interval)["datasets"][0]["data"]
        split = chart(measure="tokens", interval=interval, split="user")["datasets"]
        assert len(split) == 7 and split[-1]["label"].startswith("Other (")
        assert [sum(d["data"][i] for d in split) for i in range(len(whole))] == whole
        assert sum(whole) > 0
