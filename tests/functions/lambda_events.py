"""Event and API-response fixtures from `tests/events/`, loaded the way the functions receive them."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
_TIMESTAMP_KEY = re.compile(r"(Time|Timestamp)$")


def load_event(name: str) -> dict[str, Any]:
    """An event fixture from `tests/events/`, as the function receives it."""
    return json.loads((EVENTS / name).read_text())


def load_api_response(name: str) -> dict[str, Any]:
    """An AWS API response fixture, with timestamps as datetimes, the way boto3 returns them."""

    def convert(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: convert(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v, key) for v in value]
        if isinstance(value, str) and _TIMESTAMP_KEY.search(key):
            return datetime.fromisoformat(value)
        return value

    return convert(load_event(name))
