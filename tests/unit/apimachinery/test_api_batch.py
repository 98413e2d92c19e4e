"""batch/v1: Job (defaults, generated selector, validation, updates) and CronJob."""

from __future__ import annotations

import pytest
import yaml

from apimachinery import schema
from apimachinery.api import batch
from apimachinery.errors import (
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
)
from tests.unit.apimachinery.kind_helpers import (
    UID,
    admitted,
    changed,
    create_errors,
    fields,
    messages,
    update_errors,
)

# https://kubernetes.io/docs/concepts/workloads/controllers/job/
JOB = yaml.safe_load("""
apiVersion: batch/v1
kind: Job
metadata:
  name: pi
spec:
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl",  "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
  backoffLimit: 4
""")

# https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/
CRON_JOB = yaml.safe_load("""
apiVersion: batch/v1
kind: CronJob
metadata:
  name: hello
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: hello
            image: busybox:1.28
            imagePullPolicy: IfNotPresent
            command:
            - /bin/sh
            - -c
            - date; echo Hello from the Kubernetes cluster
          restartPolicy: OnFailure
""")


@pytest.mark.parametrize("manifest", [JOB, CRON_JOB], ids=["Job", "CronJob"])
def test_docs_manifest_validates_clean_after_defaulting(manifest):
    assert messages(create_errors(manifest)) == []


@pytest.mark.parametrize("manifest", [JOB, CRON_JOB], ids=["Job", "CronJob"])
def test_defaulted_manifest_still_matches_the_openapi_schema(manifest):
    assert schema.validate(admitted(manifest), f"io.k8s.api.batch.v1.{manifest['kind']}").errors == []


def test_batch_types_are_addressed_like_kubernetes():
    table = {t.kind: (t.plural, t.short_names, t.categories) for t in batch.TYPES}
    assert table == {"Job": ("jobs", (), ("all",)), "CronJob": ("cronjobs", ("cj",), ("all",))}


# -- Job defaults ---------------------------------------------------------------------------


def test_job_defaults_as_kubernetes_shows_them():
    spec = admitted(JOB)["spec"]
    assert {k: spec[k] for k in ("completions", "parallelism", "backoffLimit", "completionMode", "suspend",
                                 "podReplacementPolicy")} == {
        "completions": 1, "parallelism": 1, "backoffLimit": 4, "completionMode": "NonIndexed", "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed"}
    assert "manualSelector" not in spec


def test_job_backoff_limit_defaults_to_six():
    assert admitted(changed(JOB, lambda j: j["spec"].pop("backoffLimit")))["spec"]["backoffLimit"] == 6


def test_job_with_parallelism_only_keeps_completions_unset():
    spec = admitted(changed(JOB, lambda j: j["spec"].update(parallelism=3)))["spec"]
    assert "completions" not in spec and spec["parallelism"] == 3


def test_job_generates_controller_uid_selector():
    job = admitted(JOB)
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}}
    assert job["spec"]["template"]["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": UID, "batch.kubernetes.io/job-name": "pi",
        "controller-uid": UID, "job-name": "pi"}
    assert job["metadata"]["labels"] == job["spec"]["template"]["metadata"]["labels"]


def test_job_with_manual_selector_gets_no_generated_selector():
    manual = changed(JOB, lambda j: j["spec"].update(manualSelector=True))
    assert "selector" not in admitted(manual)["spec"]
    assert fields(create_errors(manual)) == {("spec.selector", FIELD_VALUE_REQUIRED),
                                             ("spec.template.metadata.labels", FIELD_VALUE_INVALID)}


def test_job_with_manual_selector_matching_its_template_is_valid():
    manual = changed(JOB, lambda j: (j["spec"].update(manualSelector=True, selector={"matchLabels": {"app": "pi"}}),
                                     j["spec"]["template"].update(metadata={"labels": {"app": "pi"}})))
    assert create_errors(manual) == []


# -- Job validation -------------------------------------------------------------------------


def _pod(j):
    return j["spec"]["template"]["spec"]


JOB_CASES = [
    ("restart_policy_always_is_required_to_be_on_failure_or_never", lambda j: _pod(j).update(restartPolicy="Always"),
     "spec.template.spec.restartPolicy", FIELD_VALUE_REQUIRED),
    ("missing_restart_policy_is_required", lambda j: _pod(j).pop("restartPolicy"),
     "spec.template.spec.restartPolicy", FIELD_VALUE_REQUIRED),
    ("negative_parallelism_is_invalid", lambda j: j["spec"].update(parallelism=-1), "spec.parallelism",
     FIELD_VALUE_INVALID),
    ("negative_completions_is_invalid", lambda j: j["spec"].update(completions=-1), "spec.completions",
     FIELD_VALUE_INVALID),
    ("negative_backoff_limit_is_invalid", lambda j: j["spec"].update(backoffLimit=-1), "spec.backoffLimit",
     FIELD_VALUE_INVALID),
    ("negative_active_deadline_is_invalid", lambda j: j["spec"].update(activeDeadlineSeconds=-1),
     "spec.activeDeadlineSeconds", FIELD_VALUE_INVALID),
    ("negative_ttl_after_finished_is_invalid", lambda j: j["spec"].update(ttlSecondsAfterFinished=-1),
     "spec.ttlSecondsAfterFinished", FIELD_VALUE_INVALID),
    ("unknown_completion_mode_is_not_supported", lambda j: j["spec"].update(completionMode="Ordered"),
     "spec.completionMode", FIELD_VALUE_NOT_SUPPORTED),
    ("indexed_without_completions_is_required",
     lambda j: j["spec"].update(completionMode="Indexed", parallelism=2), "spec.completions", FIELD_VALUE_REQUIRED),
    ("conflicting_job_name_label_is_invalid",
     lambda j: j["spec"]["template"].update(metadata={"labels": {"job-name": "other"}}),
     "spec.template.metadata.labels[job-name]", FIELD_VALUE_INVALID),
    ("foreign_controller_uid_selector_is_invalid",
     lambda j: j["spec"].update(selector={"matchLabels": {"batch.kubernetes.io/controller-uid": "other"}}),
     "spec.selector", FIELD_VALUE_INVALID),
    ("template_container_without_image_is_required", lambda j: _pod(j)["containers"][0].pop("image"),
     "spec.template.spec.containers[0].image", FIELD_VALUE_REQUIRED),
    ("unknown_pod_replacement_policy_is_not_supported", lambda j: j["spec"].update(podReplacementPolicy="Always"),
     "spec.podReplacementPolicy", FIELD_VALUE_NOT_SUPPORTED),
]


@pytest.mark.parametrize(("mutate", "path", "kind"), [c[1:] for c in JOB_CASES], ids=[c[0] for c in JOB_CASES])
def test_invalid_job_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(JOB, mutate)))


def test_job_restart_policy_message_is_kubernetes():
    always = changed(JOB, lambda j: _pod(j).update(restartPolicy="Always"))
    assert messages(create_errors(always)) == [
        'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"']


def test_job_template_is_immutable():
    new = changed(JOB, lambda j: _pod(j)["containers"][0].update(image="perl:5.36"))
    assert fields(update_errors(JOB, new)) == {("spec.template", FIELD_VALUE_INVALID)}


def test_job_completions_are_immutable():
    new = changed(JOB, lambda j: j["spec"].update(completions=3))
    assert fields(update_errors(JOB, new)) == {("spec.completions", FIELD_VALUE_INVALID)}


def test_job_may_be_suspended_and_resumed():
    assert update_errors(JOB, changed(JOB, lambda j: j["spec"].update(suspend=True))) == []


def test_indexed_job_may_scale_completions_with_parallelism():
    old = changed(JOB, lambda j: j["spec"].update(completionMode="Indexed", completions=3, parallelism=3))
    assert update_errors(old, changed(old, lambda j: j["spec"].update(completions=5, parallelism=5))) == []
    lopsided = changed(old, lambda j: j["spec"].update(completions=5))
    assert fields(update_errors(old, lopsided)) == {("spec.completions", FIELD_VALUE_INVALID)}


# -- CronJob --------------------------------------------------------------------------------


def test_cron_job_defaults_as_kubernetes_shows_them():
    spec = admitted(CRON_JOB)["spec"]
    assert {k: spec[k] for k in ("concurrencyPolicy", "suspend", "successfulJobsHistoryLimit",
                                 "failedJobsHistoryLimit")} == {
        "concurrencyPolicy": "Allow", "suspend": False, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1}
    job_spec = spec["jobTemplate"]["spec"]
    assert "selector" not in job_spec and "completions" not in job_spec  # no Job defaults in a template
    assert job_spec["template"]["spec"]["dnsPolicy"] == "ClusterFirst"


def _job_spec(c):
    return c["spec"]["jobTemplate"]["spec"]


CRON_CASES = [
    ("missing_schedule_is_required", lambda c: c["spec"].pop("schedule"), "spec.schedule", FIELD_VALUE_REQUIRED),
    ("unparseable_schedule_is_invalid", lambda c: c["spec"].update(schedule="61 * * * *"), "spec.schedule",
     FIELD_VALUE_INVALID),
    ("schedule_with_tz_is_invalid", lambda c: c["spec"].update(schedule="TZ=UTC 0 * * * *"), "spec.schedule",
     FIELD_VALUE_INVALID),
    ("unknown_time_zone_is_invalid", lambda c: c["spec"].update(timeZone="Mars/Olympus"), "spec.timeZone",
     FIELD_VALUE_INVALID),
    ("empty_time_zone_is_invalid", lambda c: c["spec"].update(timeZone=""), "spec.timeZone", FIELD_VALUE_INVALID),
    ("negative_starting_deadline_is_invalid", lambda c: c["spec"].update(startingDeadlineSeconds=-1),
     "spec.startingDeadlineSeconds", FIELD_VALUE_INVALID),
    ("unknown_concurrency_policy_is_not_supported", lambda c: c["spec"].update(concurrencyPolicy="Queue"),
     "spec.concurrencyPolicy", FIELD_VALUE_NOT_SUPPORTED),
    ("negative_history_limit_is_invalid", lambda c: c["spec"].update(failedJobsHistoryLimit=-1),
     "spec.failedJobsHistoryLimit", FIELD_VALUE_INVALID),
    ("job_template_selector_is_invalid", lambda c: _job_spec(c).update(selector={"matchLabels": {"a": "b"}}),
     "spec.jobTemplate.spec.selector", FIELD_VALUE_INVALID),
    ("job_template_restart_policy_always_is_required",
     lambda c: _job_spec(c)["template"]["spec"].update(restartPolicy="Always"),
     "spec.jobTemplate.spec.template.spec.restartPolicy", FIELD_VALUE_REQUIRED),
    ("name_longer_than_52_is_invalid", lambda c: c["metadata"].update(name="c" * 53), "metadata.name",
     FIELD_VALUE_INVALID),
]


@pytest.mark.parametrize(("mutate", "path", "kind"), [c[1:] for c in CRON_CASES], ids=[c[0] for c in CRON_CASES])
def test_invalid_cron_job_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(CRON_JOB, mutate)))


def test_cron_job_schedule_error_is_robfig_cron_message():
    bad = changed(CRON_JOB, lambda c: c["spec"].update(schedule="61 * * * *"))
    assert messages(create_errors(bad)) == [
        'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61']


@pytest.mark.parametrize("schedule", ["@hourly", "0 */2 * * MON-FRI", "30 4 1,15 JAN,JUL *", "@every 1h30m"])
def test_cron_job_accepts_schedules_kubernetes_accepts(schedule):
    assert create_errors(changed(CRON_JOB, lambda c: c["spec"].update(schedule=schedule))) == []


def test_cron_job_accepts_an_iana_time_zone():
    assert create_errors(changed(CRON_JOB, lambda c: c["spec"].update(timeZone="Europe/Paris"))) == []
