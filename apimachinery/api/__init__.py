"""Built-in kinds: one module per API group, each exporting `TYPES: list[ResourceType]`."""

from apimachinery.kinds import ResourceType


def builtin_types() -> list[ResourceType]:
    from apimachinery.api import apps, batch, coordination, core, discovery, policy, scheduling

    return [*core.TYPES, *apps.TYPES, *batch.TYPES, *coordination.TYPES, *scheduling.TYPES, *discovery.TYPES,
            *policy.TYPES]
