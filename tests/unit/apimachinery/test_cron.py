"""The cron parser behind CronJob's `spec.schedule`: what robfig/cron's standard parser accepts,
its error messages, and when a schedule fires next."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from apimachinery.cron import CronError, parse, schedule_errors


@pytest.mark.parametrize("spec", [
    "* * * * *",
    "*/5 * * * *",
    "0 0 * * 0",
    "15,45 9-17 * * 1-5",
    "0 12 1 JAN,jul *",
    "0 0 * * SUN-SAT",
    "0 0 ? * mon",
    "5/15 * * * *",
    "0 0 31 12 6",
    "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
    "@every 90s", "@every 1h30m", "@every 1.5h",
])
def test_schedule_kubernetes_accepts_parses(spec):
    assert schedule_errors(spec) == []


@pytest.mark.parametrize(("spec", "message"), [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("0 0 * * * *", "expected exactly 5 fields, found 6: [0 0 * * * *]"),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("* 24 * * *", "end of range (24) above maximum (23): 24"),
    ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
    ("* * * 13 *", "end of range (13) above maximum (12): 13"),
    ("* * * * 7", "end of range (7) above maximum (6): 7"),
    ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
    ("*/2/3 * * * *", "too many slashes: */2/3"),
    ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
    ("* * * FOO *", 'failed to parse int from FOO: strconv.Atoi: parsing "FOO": invalid syntax'),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
    ("@every soon", 'failed to parse duration soon: time: invalid duration "soon"'),
])
def test_unparseable_schedule_reports_robfig_cron_message(spec, message):
    assert schedule_errors(spec) == [message]


def test_parse_raises_cron_error():
    with pytest.raises(CronError, match="expected exactly 5 fields"):
        parse("every minute")


@pytest.mark.parametrize(("spec", "after", "expected"), [
    ("* * * * *", datetime(2024, 1, 1, 10, 0, 30), datetime(2024, 1, 1, 10, 1)),
    ("*/15 * * * *", datetime(2024, 1, 1, 10, 7), datetime(2024, 1, 1, 10, 15)),
    ("0 0 * * *", datetime(2024, 1, 1, 10, 0), datetime(2024, 1, 2, 0, 0)),
    ("0 9 * * MON", datetime(2024, 1, 3, 12, 0), datetime(2024, 1, 8, 9, 0)),  # 2024-01-03 is a Wednesday
    ("0 0 1 * *", datetime(2024, 1, 15), datetime(2024, 2, 1)),
    ("@yearly", datetime(2024, 6, 1), datetime(2025, 1, 1)),
    ("0 0 13 * 5", datetime(2024, 1, 1), datetime(2024, 1, 5)),  # day-of-month OR day-of-week
])
def test_next_activation_after_a_time(spec, after, expected):
    assert parse(spec).next_after(after) == expected


def test_every_descriptor_fires_at_fixed_intervals():
    assert parse("@every 1h30m").next_after(datetime(2024, 1, 1, 10, 0)) == datetime(2024, 1, 1, 10, 0) + timedelta(
        minutes=90)
