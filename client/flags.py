"""Command-line value types shared by every component's flags (Kubernetes spellings)."""

from __future__ import annotations

import argparse

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str) -> float:
    """A Go-style duration in seconds: '10s', '1m', '500ms', '1m30s', or plain seconds ('2.5')."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    total, number, i = 0.0, "", 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else ch
        if unit not in _UNITS or not number:
            raise argparse.ArgumentTypeError(f"invalid duration {text!r} (use e.g. 10s, 1m, 500ms)")
        total += float(number) * _UNITS[unit]
        number = ""
        i += len(unit)
    if number:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: missing unit after {number}")
    return total


def key_values(text: str) -> dict[str, str]:
    """'a=1,b=2' -> {'a': '1', 'b': '2'}."""
    pairs = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"{item!r} is not key=value")
        pairs[key] = value
    return pairs


def boolean(text: str) -> bool:
    """'true'/'false' (also 1/0, yes/no), as Go's flag package accepts for --flag=value."""
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "t"):
        return True
    if lowered in ("false", "0", "no", "f"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r} (use true or false)")
