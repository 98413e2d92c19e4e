"""Cron schedules as a CronJob's `spec.schedule` takes them (robfig/cron's standard parser).

Kubernetes validates a CronJob's schedule with `cron.ParseStandard` from github.com/robfig/cron/v3
and reports the parser's own error text, e.g. `spec.schedule: Invalid value: "61 * * * *": end of
range (61) above maximum (59): 61`. This module is that parser, lab-sized:

- five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or JAN-DEC) and day of
  week (0-6 or SUN-SAT); each a comma-separated list of `*`, `?`, `N`, `N-M`, `*/S`, `N/S`, `N-M/S`;
- descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly` and
  `@every <duration>` (Go duration syntax, e.g. `@every 1h30m`);
- `TZ=` / `CRON_TZ=` prefixes are parsed (the zone is not checked); the CronJob validation forbids
  them separately, as Kubernetes does.

`parse(spec)` returns a `Schedule` (with `next_after` for a controller) or raises `CronError`
whose message is robfig's; `schedule_errors(spec)` returns the messages as a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta


class CronError(ValueError):
    """A schedule robfig/cron would refuse; str() is robfig's message."""


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


_MONTHS = {name: i + 1 for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS = (_Bounds(0, 59), _Bounds(0, 23), _Bounds(1, 31), _Bounds(1, 12, _MONTHS), _Bounds(0, 6, _DAYS))

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: the allowed values of each field, or a fixed interval (`@every`)."""

    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days_of_month: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    days_of_week: frozenset[int] = frozenset()
    dom_star: bool = False
    dow_star: bool = False
    every: timedelta | None = None

    def next_after(self, when: datetime) -> datetime:
        """The first activation strictly after `when` (seconds dropped), like robfig's Next."""
        if self.every is not None:
            step = max(self.every, timedelta(seconds=1))
            return when.replace(microsecond=0) + step
        candidate = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = candidate + timedelta(days=366 * 5)
        while candidate < limit:
            if candidate.month not in self.months:
                candidate = _first_of_next_month(candidate)
            elif not self._day_matches(candidate):
                candidate = candidate.replace(hour=0, minute=0) + timedelta(days=1)
            elif candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0) + timedelta(hours=1)
            elif candidate.minute not in self.minutes:
                candidate += timedelta(minutes=1)
            else:
                return candidate
        raise CronError("schedule never activates")

    def _day_matches(self, when: datetime) -> bool:
        dom = when.day in self.days_of_month
        dow = (when.isoweekday() % 7) in self.days_of_week
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow


def _first_of_next_month(when: datetime) -> datetime:
    year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
    return when.replace(year=year, month=month, day=1, hour=0, minute=0)


def parse(spec: str) -> Schedule:
    """Parse a standard (5-field or descriptor) cron spec; CronError with robfig's message."""
    if not spec:
        raise CronError("empty spec string")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        spec = _strip_time_zone(spec)
    if spec.startswith("@"):
        return _parse_descriptor(spec)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    parsed = [_parse_field(text, bounds) for text, bounds in zip(fields, _FIELDS, strict=True)]
    return Schedule(minutes=parsed[0][0], hours=parsed[1][0], days_of_month=parsed[2][0],
                    months=parsed[3][0], days_of_week=parsed[4][0], dom_star=parsed[2][1],
                    dow_star=parsed[4][1])


def schedule_errors(spec: str) -> list[str]:
    """robfig/cron's error for `spec` as a one-element list, or [] when it parses."""
    try:
        parse(spec)
    except CronError as e:
        return [str(e)]
    return []


def _strip_time_zone(spec: str) -> str:
    space = spec.find(" ")
    if space < 0:
        zone = spec[spec.index("=") + 1:]
        raise CronError(f"provided bad location {zone}: unknown time zone {zone}")
    return spec[space:].strip()


def _parse_descriptor(spec: str) -> Schedule:
    if spec in _DESCRIPTORS:
        return parse(_DESCRIPTORS[spec])
    if spec.startswith("@every "):
        text = spec[len("@every "):]
        return Schedule(every=_parse_duration(text))
    raise CronError(f"unrecognized descriptor: {spec}")


def _parse_duration(text: str) -> timedelta:
    """Go's time.ParseDuration for the non-negative durations `@every` takes."""
    body = text[1:] if text[:1] == "+" else text
    if body == "0":
        return timedelta(0)
    pos, seconds = 0, 0.0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            break
        seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body):
        raise CronError(f'failed to parse duration {text}: time: invalid duration "{text}"')
    return timedelta(seconds=seconds)


def _parse_field(text: str, bounds: _Bounds) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for expr in text.split(","):
        found, expr_star = _parse_range(expr, bounds)
        values |= found
        star = star or expr_star
    return frozenset(values), star


def _parse_range(expr: str, bounds: _Bounds) -> tuple[set[int], bool]:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    star = low_and_high[0] in ("*", "?")
    if star:
        start, end = bounds.low, bounds.high
    else:
        start = _int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds.names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _non_negative_int(range_and_step[1])
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = bounds.high
        star = star and step <= 1
    else:
        raise CronError(f"too many slashes: {expr}")
    _check_range(expr, start, end, step, bounds)
    return set(range(start, end + 1, step)), star


def _check_range(expr: str, start: int, end: int, step: int, bounds: _Bounds) -> None:
    if start < bounds.low:
        raise CronError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise CronError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")


def _int_or_name(text: str, names: dict[str, int] | None) -> int:
    if names is not None and text.lower() in names:
        return names[text.lower()]
    return _non_negative_int(text)


def _non_negative_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    number = int(text)
    if number < 0:
        raise CronError(f"negative number ({number}) not allowed: {text}")
    return number
