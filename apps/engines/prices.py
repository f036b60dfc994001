"""Provider list prices from the ``genai-prices`` package's bundled, dated price table.

Offline by construction: only the bundled snapshot is read. The package's ``UpdatePrices`` (which would fetch a
newer table from GitHub in a background thread) is never started, and nothing here imports it by name.
Prices are USD per million tokens; self-hosted LLaMA servers have none (an admin enters 0).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

# The price table's provider for each engine; LLaMA is self-hosted (no list price).
_PROVIDERS = {"openai": "openai", "azure-openai": "azure", "mistral": "mistral", "google": "google", "bedrock": "aws"}


def _as_decimal(value: object) -> Decimal | None:
    # Tiered prices (by prompt length) list their base tier first: that is the list price of a normal prompt.
    base = getattr(value, "base", value)
    return base if isinstance(base, Decimal) else None


@lru_cache(maxsize=512)
def list_price(engine: str, model: str) -> tuple[Decimal, Decimal] | None:
    """(input, output) USD per million tokens for the model on the engine's provider, or None when unknown."""
    provider_id = _PROVIDERS.get(engine)
    if provider_id is None or not model.strip():
        return None
    from genai_prices import data_snapshot

    try:
        _provider, info = data_snapshot.get_snapshot().find_provider_model(model.strip(), None, provider_id, None)
    except LookupError:
        return None
    prices = info.get_prices(datetime.now(tz=UTC))
    input_price = _as_decimal(getattr(prices, "input_mtok", None))
    output_price = _as_decimal(getattr(prices, "output_mtok", None))
    if input_price is None or output_price is None:
        return None
    return input_price, output_price
