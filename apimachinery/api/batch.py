"""batch/v1: Job and CronJob.

Defaulting is pkg/apis/batch/v1/defaults.go plus the Job strategy's selector generation: unless
`spec.manualSelector` is true, a Job selects its own pods by `batch.kubernetes.io/controller-uid`
(its metadata.uid, which the apiserver sets before defaulting runs) and its template carries the
controller-uid and job-name labels, old and new spellings. Validation follows
pkg/apis/batch/validation, with robfig/cron's messages for a bad schedule.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from apimachinery.api.common import (
    MAX_INT32,
    Object,
    ensure,
    immutable,
    invalid,
    non_negative,
    not_supported,
    number,
    required,
    selector_matches,
    strings,
    sub,
    template_labels_match,
    text,
)
from apimachinery.api.core import default_pod_spec, validate_pod_template
from apimachinery.cron import schedule_errors
from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType
from apimachinery.labels import validate_label_selector
from apimachinery.names import is_dns1123_label, is_dns1123_subdomain, validate_object_meta

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"
COMPLETION_MODES = ("NonIndexed", "Indexed")
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
REPLACEMENT_POLICIES = ("Failed", "TerminatingOrFailed")
MAX_PARALLELISM_INDEXED = 100000
MAX_CRON_JOB_NAME = 52  # the controller appends an 11-character suffix to a 63-character job name
_TIME_ZONE_PART = re.compile(r"^[A-Za-z\.\-_0-9+]{1,14}$")


def _set(obj: Object, key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


# -- Job defaulting -------------------------------------------------------------------------


def default_job(obj: Object) -> None:
    spec = ensure(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    _set(spec, "parallelism", 1)
    _set(spec, "backoffLimit", MAX_INT32 if spec.get("backoffLimitPerIndex") is not None else 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    _set(spec, "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed")
    for rule in sub(spec, "podFailurePolicy").get("rules") or []:
        for pattern in (rule.get("onPodConditions") or []) if isinstance(rule, dict) else []:
            if isinstance(pattern, dict) and not pattern.get("status"):
                pattern["status"] = "True"
    template = ensure(spec, "template")
    default_pod_spec(ensure(template, "spec"))
    if spec.get("manualSelector") is not True:
        _generate_selector(obj, spec, template)
    metadata = ensure(obj, "metadata")
    labels = strings(sub(template, "metadata"), "labels")
    if labels and not metadata.get("labels"):
        metadata["labels"] = dict(labels)


def _generate_selector(obj: Object, spec: Object, template: Object) -> None:
    metadata = sub(obj, "metadata")
    uid, name = text(metadata.get("uid")), text(metadata.get("name"))
    labels = ensure(ensure(template, "metadata"), "labels")
    for key, value in ((LEGACY_JOB_NAME, name), (JOB_NAME, name), (LEGACY_CONTROLLER_UID, uid),
                       (CONTROLLER_UID, uid)):
        labels.setdefault(key, value)
    ensure(ensure(spec, "selector"), "matchLabels").setdefault(CONTROLLER_UID, uid)


# -- Job validation -------------------------------------------------------------------------


def validate_job(obj: Object) -> list[FieldError]:
    metadata, spec = sub(obj, "metadata"), sub(obj, "spec")
    found = validate_object_meta(metadata, True, is_dns1123_subdomain)
    if spec.get("manualSelector") is not True:
        found += _generated_selector(metadata, spec)
    found += _job_spec(spec, "spec")
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        found.append(required("spec.selector"))
    else:
        found += validate_label_selector(selector, "spec.selector")
    found += template_labels_match(selector, sub(spec, "template"), "spec.template")
    completions = number(spec.get("completions"))
    if spec.get("completionMode") == "Indexed" and completions:
        hostname = f"{text(metadata.get('name'))}-{completions - 1}"
        if is_dns1123_label(hostname):
            found.append(invalid("metadata.name", metadata.get("name"),
                                 f"will not able to create pod with invalid DNS label: {hostname}"))
    return found


def _generated_selector(metadata: Object, spec: Object) -> list[FieldError]:
    if not isinstance(spec.get("selector"), dict):
        return []
    uid, name = text(metadata.get("uid")), text(metadata.get("name"))
    found = [] if uid else [required("metadata.uid")]
    labels = strings(sub(sub(spec, "template"), "metadata"), "labels")
    for key, value in ((LEGACY_CONTROLLER_UID, uid), (LEGACY_JOB_NAME, name), (CONTROLLER_UID, uid),
                       (JOB_NAME, name)):
        path = f"spec.template.metadata.labels[{key}]"
        if key not in labels:
            found.append(required(path, value))
        elif labels[key] != value:
            found.append(invalid(path, labels, f"must be '{value}'"))
    if selector_matches(spec["selector"], {CONTROLLER_UID: uid}) is False:
        found.append(invalid("spec.selector", spec["selector"], "`selector` not auto-generated"))
    return found


def _job_spec(spec: Object, path: str) -> list[FieldError]:
    """validateJobSpec: counts, completion mode, replacement policy, template and restartPolicy."""
    found: list[FieldError] = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished",
                "backoffLimitPerIndex", "maxFailedIndexes"):
        found += non_negative(spec.get(key), f"{path}.{key}")
    mode = spec.get("completionMode")
    if mode is not None and mode not in COMPLETION_MODES:
        found.append(not_supported(f"{path}.completionMode", mode, COMPLETION_MODES))
    if mode == "Indexed":
        if spec.get("completions") is None:
            found.append(required(f"{path}.completions", "when completion mode is Indexed"))
        parallelism = number(spec.get("parallelism"))
        if parallelism is not None and parallelism > MAX_PARALLELISM_INDEXED:
            found.append(invalid(f"{path}.parallelism", parallelism, f"must be less than or equal to "
                                 f"{MAX_PARALLELISM_INDEXED} when completion mode is Indexed"))
    found += _replacement_policy(spec, f"{path}.podReplacementPolicy")
    found += validate_pod_template(sub(spec, "template"), f"{path}.template")
    return found + _restart_policy(spec, f"{path}.template.spec.restartPolicy")


def _replacement_policy(spec: Object, path: str) -> list[FieldError]:
    policy = spec.get("podReplacementPolicy")
    if policy is None:
        return []
    if spec.get("podFailurePolicy") is not None:
        return [] if policy == "Failed" else [not_supported(path, policy, ("Failed",))]
    return [] if policy in REPLACEMENT_POLICIES else [not_supported(path, policy, REPLACEMENT_POLICIES)]


def _restart_policy(spec: Object, path: str) -> list[FieldError]:
    policy = sub(sub(spec, "template"), "spec").get("restartPolicy")
    if policy in (None, "", "Always"):
        return [required(path, 'valid values: "OnFailure", "Never"')]
    if policy not in ("OnFailure", "Never"):
        return [not_supported(path, policy, ("OnFailure", "Never"))]
    if spec.get("podFailurePolicy") is not None and policy != "Never":
        return [invalid(path, policy, 'only "Never" is supported when podFailurePolicy is specified')]
    return []


def validate_job_update(new: Object, old: Object) -> list[FieldError]:
    new_spec, old_spec = sub(new, "spec"), sub(old, "spec")
    found = _completions_update(new_spec, old_spec)
    for key in ("selector", "template", "completionMode", "podFailurePolicy", "backoffLimitPerIndex"):
        found += immutable(new_spec.get(key), old_spec.get(key), f"spec.{key}")
    return found


def _completions_update(new_spec: Object, old_spec: Object) -> list[FieldError]:
    """Immutable, except that an Indexed job may scale completions together with parallelism."""
    new, old = new_spec.get("completions"), old_spec.get("completions")
    if new_spec.get("completionMode") != "Indexed":
        return immutable(new, old, "spec.completions")
    if new == old or new is None:
        return []
    if new != new_spec.get("parallelism"):
        return [invalid("spec.completions", new, "can only be modified in tandem with spec.parallelism")]
    return []


# -- CronJob --------------------------------------------------------------------------------


def default_cron_job(obj: Object) -> None:
    spec = ensure(obj, "spec")
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    job_spec = ensure(ensure(spec, "jobTemplate"), "spec")
    default_pod_spec(ensure(ensure(job_spec, "template"), "spec"))


def validate_cron_job(obj: Object) -> list[FieldError]:
    metadata, spec = sub(obj, "metadata"), sub(obj, "spec")
    found = validate_object_meta(metadata, True, is_dns1123_subdomain)
    found += _schedule(spec.get("schedule"))
    found += non_negative(spec.get("startingDeadlineSeconds"), "spec.startingDeadlineSeconds")
    found += _time_zone(spec.get("timeZone"))
    policy = spec.get("concurrencyPolicy")
    if not policy:
        found.append(required("spec.concurrencyPolicy"))
    elif policy not in CONCURRENCY_POLICIES:
        found.append(not_supported("spec.concurrencyPolicy", policy, CONCURRENCY_POLICIES))
    found += _job_template(sub(sub(spec, "jobTemplate"), "spec"), "spec.jobTemplate.spec")
    found += non_negative(spec.get("successfulJobsHistoryLimit"), "spec.successfulJobsHistoryLimit")
    found += non_negative(spec.get("failedJobsHistoryLimit"), "spec.failedJobsHistoryLimit")
    name = text(metadata.get("name"))
    if len(name) > MAX_CRON_JOB_NAME:
        found.append(invalid("metadata.name", name, f"must be no more than {MAX_CRON_JOB_NAME} characters"))
    return found


def _schedule(schedule: Any) -> list[FieldError]:
    if not text(schedule):
        return [required("spec.schedule")]
    found = [invalid("spec.schedule", schedule, message) for message in schedule_errors(schedule)]
    if "TZ" in schedule:
        found.append(invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone "
                                                        "field instead"))
    return found


def _time_zone(time_zone: Any) -> list[FieldError]:
    if time_zone is None:
        return []
    path, zone = "spec.timeZone", text(time_zone)
    if not zone:
        return [invalid(path, time_zone, "timeZone must be nil or non-empty string")]
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TIME_ZONE_PART.match(part):
            return [invalid(path, zone, f"unknown time zone {zone}")]
    if zone.lower() == "local":
        return [invalid(path, zone, "timeZone must be an explicit time zone as defined in "
                                    "https://www.iana.org/time-zones")]
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [invalid(path, zone, f"unknown time zone {zone}")]
    return []


def _job_template(job_spec: Object, path: str) -> list[FieldError]:
    found = _job_spec(job_spec, path)
    if job_spec.get("selector") is not None:
        found.append(invalid(f"{path}.selector", job_spec["selector"], "`selector` will be auto-generated"))
    if job_spec.get("manualSelector") is True:
        found.append(not_supported(f"{path}.manualSelector", True, ("nil", "false")))
    return found


# -- the kinds ------------------------------------------------------------------------------


TYPES: list[ResourceType] = [
    ResourceType("batch", "v1", "Job", "jobs", categories=("all",), schema_ref="io.k8s.api.batch.v1.Job",
                 default=default_job, validate=validate_job, validate_update=validate_job_update,
                 selectable_fields=("status.successful",)),
    ResourceType("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), categories=("all",),
                 schema_ref="io.k8s.api.batch.v1.CronJob", default=default_cron_job, validate=validate_cron_job),
]
