"""The scheduler's Prometheus metrics (names as in Kubernetes' scheduler metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

schedule_attempts = Counter("scheduler_schedule_attempts_total",
                            "Number of attempts to schedule pods, by the result.", ["result", "profile"])
scheduling_attempt_duration = Histogram("scheduler_scheduling_attempt_duration_seconds",
                                        "Scheduling cycle latency (no binding).", ["result", "profile"],
                                        buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1))
preemption_attempts = Counter("scheduler_preemption_attempts_total", "Total preemption attempts in the cluster.")
preemption_victims = Counter("scheduler_preemption_victims_total", "Number of selected preemption victims.")
