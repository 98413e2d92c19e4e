"""What label and field selectors share: an AND of requirements, or the selector matching nothing.

`RequirementSet` is the mechanism; `labels.Selector` and `fields.FieldSelector` differ only in
their requirement type (and labels keep their requirements sorted by key, as Kubernetes does).
Selectors are immutable and hashable; `matches` is on the apiserver's hot path (every object,
every watcher), so it is a plain loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, Protocol, TypeVar


class Requirement(Protocol):
    def matches(self, values: Mapping[str, str]) -> bool: ...


R = TypeVar("R", bound=Requirement)


class RequirementSet(Generic[R]):
    """An AND of requirements, or (nothing=True) the set that matches nothing."""

    __slots__ = ("_nothing", "_requirements")

    def __init__(self, requirements: Iterable[R] = (), *, nothing: bool = False) -> None:
        self._requirements: tuple[R, ...] = tuple(requirements)
        self._nothing = nothing

    @property
    def requirements(self) -> tuple[R, ...]:
        return self._requirements

    @property
    def empty(self) -> bool:
        """True when nothing is restricted (the selector matching nothing is not empty)."""
        return not self._nothing and not self._requirements

    def matches(self, values: Mapping[str, str]) -> bool:
        if self._nothing:
            return False
        for requirement in self._requirements:  # noqa: SIM110 - a plain loop beats all() on the hot path
            if not requirement.matches(values):
                return False
        return True

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self._requirements)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}.nothing()" if self._nothing else f"{name}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, RequirementSet)
        return (self._nothing, self._requirements) == (other._nothing, other._requirements)

    def __hash__(self) -> int:
        return hash((self._nothing, self._requirements))
