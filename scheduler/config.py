"""The scheduler configuration: Kubernetes' KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1).

A file like this picks the plugins and their weights::

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    percentageOfNodesToScore: 50
    profiles:
    - schedulerName: default-scheduler
      plugins:
        score:
          disabled: [{name: NodeResourcesBalancedAllocation}]
          enabled: [{name: NodeResourcesFit, weight: 5}]
      pluginConfig:
      - name: NodeResourcesFit
        args: {scoringStrategy: {type: MostAllocated}}

Without a file the default profile runs (the list below, as in Kubernetes' default_plugins.go).
As in v1, the defaults are `multiPoint` plugins: each runs at every extension point it
implements. A profile's `multiPoint` adds to or removes from that list; `<point>.enabled` adds a
plugin at one point (a score weight there wins), `<point>.disabled` removes one there ("*": all
defaults). Every mistake is reported with the field it is in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from apimachinery.errors import FIELD_VALUE_UNKNOWN, FieldError
from scheduler import registry
from scheduler.interface import EXTENSION_POINTS, Plugin, implements

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
DEFAULT_SCHEDULER_NAME = "default-scheduler"
# (name, weight) in Kubernetes' order; the weight matters only for score plugins.
DEFAULT_MULTI_POINT: list[tuple[str, int]] = [
    ("SchedulingGates", 0), ("PrioritySort", 0), ("NodeUnschedulable", 0), ("NodeName", 0),
    ("TaintToleration", 3), ("NodeAffinity", 2), ("NodePorts", 0), ("NodeResourcesFit", 1),
    ("VolumeRestrictions", 0), ("NodeVolumeLimits", 0), ("VolumeBinding", 0), ("VolumeZone", 0),
    ("PodTopologySpread", 2), ("InterPodAffinity", 2), ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1), ("ImageLocality", 1), ("DefaultBinder", 0)]
CONFIG_FIELDS = frozenset({"apiVersion", "kind", "profiles", "percentageOfNodesToScore", "podInitialBackoffSeconds",
                           "podMaxBackoffSeconds", "parallelism", "leaderElection", "clientConnection",
                           "healthzBindAddress", "metricsBindAddress", "enableProfiling", "enableContentionProfiling",
                           "extenders", "delayCacheUntilActive"})
PROFILE_FIELDS = frozenset({"schedulerName", "plugins", "pluginConfig", "percentageOfNodesToScore"})
PLUGIN_POINTS = ("multiPoint", "queueSort", "preEnqueue", "preFilter", "filter", "postFilter", "preScore", "score",
                 "reserve", "permit", "preBind", "bind", "postBind")


class ConfigError(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(e.message() for e in errors))


@dataclass
class Profile:
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    # extension point -> [(plugin name, weight)], in the order they run
    points: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    plugin_args: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    plugin_classes: dict[str, type[Plugin]] = field(default_factory=dict)
    percentage_of_nodes_to_score: int | None = None


@dataclass
class SchedulerConfiguration:
    profiles: list[Profile]
    percentage_of_nodes_to_score: int | None = None
    pod_initial_backoff_seconds: float = 1.0
    pod_max_backoff_seconds: float = 10.0

    def profile(self, scheduler_name: str) -> Profile | None:
        return next((p for p in self.profiles if p.scheduler_name == scheduler_name), None)


def default_configuration() -> SchedulerConfiguration:
    return parse({"apiVersion": API_VERSION, "kind": KIND})


def load(path: str | Path) -> SchedulerConfiguration:
    """Read and validate a config file; ConfigError naming the field on any mistake."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as e:
        raise ConfigError([FieldError("<file>", "FieldValueInvalid", f"not valid YAML: {e}")]) from None
    return parse(raw if raw is not None else {})


# -- parsing ---------------------------------------------------------------------------------


def _invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(path, "FieldValueInvalid", detail, value)


def _unknown_fields(obj: Mapping[str, Any], allowed: frozenset[str], path: str) -> list[FieldError]:
    return [FieldError(f"{path}{key}", FIELD_VALUE_UNKNOWN) for key in obj if key not in allowed]


def _percentage(value: Any, path: str, errors: list[FieldError]) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        errors.append(_invalid(path, value, "not in valid range [0-100]"))
        return None
    return value


def parse(raw: Any) -> SchedulerConfiguration:
    if not isinstance(raw, Mapping):
        raise ConfigError([_invalid("<file>", None, "must be a KubeSchedulerConfiguration object")])
    errors = _unknown_fields(raw, CONFIG_FIELDS, "")
    if raw.get("apiVersion", API_VERSION) != API_VERSION:
        errors.append(FieldError("apiVersion", "FieldValueNotSupported", f'supported values: "{API_VERSION}"',
                                 raw.get("apiVersion")))
    if raw.get("kind", KIND) != KIND:
        errors.append(FieldError("kind", "FieldValueNotSupported", f'supported values: "{KIND}"', raw.get("kind")))
    config = SchedulerConfiguration(
        [], _percentage(raw.get("percentageOfNodesToScore"), "percentageOfNodesToScore", errors),
        float(raw.get("podInitialBackoffSeconds") or 1), float(raw.get("podMaxBackoffSeconds") or 10))
    profiles = raw.get("profiles") or [{}]
    if not isinstance(profiles, list):
        errors.append(_invalid("profiles", profiles, "must be a list"))
        profiles = []
    seen: set[str] = set()
    for i, profile in enumerate(profiles):
        parsed = _profile(profile if isinstance(profile, Mapping) else {}, f"profiles[{i}]", errors)
        if parsed.scheduler_name in seen:
            errors.append(FieldError(f"profiles[{i}].schedulerName", "FieldValueDuplicate", "",
                                     parsed.scheduler_name))
        seen.add(parsed.scheduler_name)
        config.profiles.append(parsed)
    if errors:
        raise ConfigError(errors)
    return config


def _profile(raw: Mapping[str, Any], path: str, errors: list[FieldError]) -> Profile:
    errors += _unknown_fields(raw, PROFILE_FIELDS, f"{path}.")
    name = raw.get("schedulerName", DEFAULT_SCHEDULER_NAME)
    if not name or not isinstance(name, str):
        errors.append(FieldError(f"{path}.schedulerName", "FieldValueRequired"))
    profile = Profile(name or "", percentage_of_nodes_to_score=_percentage(
        raw.get("percentageOfNodesToScore"), f"{path}.percentageOfNodesToScore", errors))
    plugins = raw.get("plugins") or {}
    errors += _unknown_fields(plugins, frozenset(PLUGIN_POINTS), f"{path}.plugins.")
    classes = _load_classes(plugins, f"{path}.plugins", errors)
    profile.plugin_classes = classes
    profile.points = _expand(plugins, classes)
    profile.plugin_args = _plugin_args(raw.get("pluginConfig") or [], f"{path}.pluginConfig", classes, errors)
    return profile


def _entries(plugins: Mapping[str, Any], point: str, which: str) -> list[Mapping[str, Any]]:
    return list((plugins.get(point) or {}).get(which) or [])


def _load_classes(plugins: Mapping[str, Any], path: str, errors: list[FieldError]) -> dict[str, type[Plugin]]:
    """Every plugin the profile may run, by name: the defaults plus everything enabled anywhere."""
    classes: dict[str, type[Plugin]] = {}
    names = [(name, "") for name, _ in DEFAULT_MULTI_POINT]
    for point in PLUGIN_POINTS:
        for j, entry in enumerate(_entries(plugins, point, "enabled")):
            names.append((entry.get("name", ""), f"{path}.{point}.enabled[{j}]"))
        for j, entry in enumerate(_entries(plugins, point, "disabled")):
            _check_weight(entry, f"{path}.{point}.disabled[{j}]", errors, allowed=False)
    for name, where in names:
        if name in classes or name in registry.NOT_EMULATED:
            continue
        try:
            classes[name] = registry.load(name)
        except (KeyError, ImportError, AttributeError, TypeError) as e:
            detail = "plugin not found" if isinstance(e, KeyError) else f"cannot load plugin: {e}"
            errors.append(_invalid(f"{where}.name", name, detail))
    for point in PLUGIN_POINTS:
        for j, entry in enumerate(_entries(plugins, point, "enabled")):
            _check_weight(entry, f"{path}.{point}.enabled[{j}]", errors, allowed=point in ("score", "multiPoint"))
    return classes


def _check_weight(entry: Mapping[str, Any], path: str, errors: list[FieldError], allowed: bool) -> None:
    weight = entry.get("weight")
    if weight is None:
        return
    if not allowed:
        errors.append(_invalid(f"{path}.weight", weight, "weight is only meaningful for score plugins"))
    elif not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 100:
        errors.append(_invalid(f"{path}.weight", weight, "must be in the range [1, 100]"))


def _expand(plugins: Mapping[str, Any], classes: Mapping[str, type[Plugin]]) -> dict[str, list[tuple[str, int]]]:
    """Per extension point, the (name, weight) list that runs there."""
    removed = {e.get("name") for e in _entries(plugins, "multiPoint", "disabled")}
    multi = [(n, w) for n, w in DEFAULT_MULTI_POINT if "*" not in removed and n not in removed]
    for entry in _entries(plugins, "multiPoint", "enabled"):
        multi = [(n, w) for n, w in multi if n != entry["name"]] + [(entry["name"], int(entry.get("weight") or 1))]
    points: dict[str, list[tuple[str, int]]] = {}
    for point in EXTENSION_POINTS:
        disabled = {e.get("name") for e in _entries(plugins, point, "disabled")}
        explicit = [(e["name"], int(e.get("weight") or 1)) for e in _entries(plugins, point, "enabled")]
        explicit_names = {n for n, _ in explicit}
        chosen = [] if "*" in disabled else [
            (n, w or 1) for n, w in multi
            if n in classes and implements(classes[n], point) and n not in disabled and n not in explicit_names]
        points[point] = chosen + [(n, w) for n, w in explicit if n in classes]
    return points


def _plugin_args(raw: Any, path: str, classes: Mapping[str, type[Plugin]],
                 errors: list[FieldError]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for i, entry in enumerate(raw if isinstance(raw, list) else []):
        name, args = entry.get("name", ""), entry.get("args") or {}
        if name in found:
            errors.append(FieldError(f"{path}[{i}].name", "FieldValueDuplicate", "", name))
        if not isinstance(args, Mapping):
            errors.append(_invalid(f"{path}[{i}].args", args, "must be an object"))
            continue
        validate = getattr(classes.get(name), "validate_args", None)
        if validate is not None:
            errors += validate(args, f"{path}[{i}].args")
        found[name] = args
    return found
