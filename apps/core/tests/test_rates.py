"""The one syntax of the rate settings (apps/core/rates.py)."""

import pytest

from apps.core.rates import is_rate, parse_rate


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("60/min", (60, 60)),
        ("300/m", (300, 60)),
        ("5/minute", (5, 60)),
        ("2/s", (2, 1)),
        ("2/sec", (2, 1)),
        ("2/second", (2, 1)),
        ("100/h", (100, 3600)),
        ("100/hour", (100, 3600)),
        ("1000/d", (1000, 86400)),
        ("1000/day", (1000, 86400)),
        (" 7 / MIN ", (7, 60)),
    ],
)
def test_every_documented_spelling_is_read(rate, parsed):
    assert parse_rate(rate) == parsed
    assert is_rate(rate)


@pytest.mark.parametrize("rate", ["", "60", "0/min", "-1/min", "60/week", "60/minutes", "sixty/min", "60/min/h", None])
def test_anything_else_is_refused_with_the_expected_form(rate):
    with pytest.raises(ValueError, match=r"N/period \(e\.g\. 300/min\)"):
        parse_rate(rate)
    assert not is_rate(rate)
