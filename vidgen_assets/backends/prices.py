"""Price overrides: a JSON file named by `VIDGEN_PRICES` replaces registry prices without code."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from vidgen_assets.backends.registry import REGISTRY
from vidgen_assets.core.cost import Price
from vidgen_assets.settings import PRICES_ENV


def parse_prices(data: Any, source: str) -> dict[str, Price]:
    """`{"owner/name": {"usd": "0.003", "unit": "run", "source": "...", "date": "..."}}` -> prices."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: prices are a JSON object keyed by model id")
    out = {}
    for model_id, entry in data.items():
        if model_id not in REGISTRY:
            raise ValueError(f"{source}: unknown model {model_id!r}; known: {', '.join(sorted(REGISTRY))}")
        if not isinstance(entry, dict) or "usd" not in entry:
            raise ValueError(f'{source}: {model_id}: give at least {{"usd": "0.05"}}')
        try:
            amount = Decimal(str(entry["usd"]))
        except InvalidOperation:
            raise ValueError(f"{source}: {model_id}: usd {entry['usd']!r} is not a number") from None
        base = REGISTRY[model_id].price
        out[model_id] = Price(
            amount, entry.get("unit", base.unit), str(entry.get("source", source)), str(entry.get("date", ""))
        )
    return out


def load_prices(path: Path | str | None) -> dict[str, Price]:
    """Price overrides from the JSON file `path` (the `prices` setting, `$VIDGEN_PRICES`); none without one."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{PRICES_ENV}={path}: cannot read prices: {exc}") from None
    return parse_prices(data, f"{PRICES_ENV}={path}")
