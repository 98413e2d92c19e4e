"""Making sure a container's image is on the node before it starts: Kubernetes' image manager.

``imagePullPolicy`` decides (the apiserver defaults it by tag: ``Always`` for ``:latest`` or no tag, else
``IfNotPresent``):

* ``Always``: pull every time a container starts;
* ``IfNotPresent``: pull only when the runtime does not have the image;
* ``Never``: never pull; an absent image is ``ErrImageNeverPull``.

A failed pull is ``ErrImagePull``; while the pull back-off for (pod, image) runs (10 s doubling to 5 min, as the
kubelet's), further attempts are not made and the container waits with ``ImagePullBackOff``. The outcome of every
step is reported through ``record(type, reason, message)`` as the events ``kubectl describe pod`` shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from kubelet.runtime.interface import ImagePullError, InvalidImageNameError, Runtime

PULL_BACKOFF_INITIAL = 10.0
PULL_BACKOFF_MAX = 300.0

Record = Callable[[str, str, str], None]  # (type, reason, message)


class ImageError(Exception):
    """The container cannot start because of its image; ``reason`` is the container's waiting reason."""

    def __init__(self, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        # When the pod worker should look again: in ImagePullBackOff, when the back-off ends; right
        # after a failed pull, halfway through the new back-off, so the container shows
        # ImagePullBackOff in between, as Kubernetes' pod worker (re-syncing every ~10 s) makes it.
        self.retry_after = retry_after


class ImageManager:
    def __init__(self, runtime: Runtime, *, backoff_initial: float = PULL_BACKOFF_INITIAL,
                 backoff_max: float = PULL_BACKOFF_MAX, clock: Callable[[], float] = time.monotonic) -> None:
        self.runtime = runtime
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.clock = clock
        self._backoff: dict[tuple[str, str], tuple[float, float]] = {}  # (pod uid, image) -> (delay, until)

    async def ensure_image(self, pod: Mapping[str, Any], container: Mapping[str, Any], record: Record) -> None:
        """Return when the image is present; raise ImageError otherwise."""
        image = str(container.get("image") or "")
        policy = str(container.get("imagePullPolicy") or "IfNotPresent")
        try:
            present = await self.runtime.image_present(image)
        except InvalidImageNameError as e:
            record("Warning", "InspectFailed", str(e))
            raise ImageError("InvalidImageName", str(e)) from None
        if present and policy != "Always":
            record("Normal", "Pulled", f'Container image "{image}" already present on machine')
            return
        if policy == "Never":
            message = f'Container image "{image}" is not present with pull policy of Never'
            record("Warning", "ErrImageNeverPull", message)
            raise ImageError("ErrImageNeverPull", message)
        await self._pull(str((pod.get("metadata") or {}).get("uid", "")), image, record)

    async def _pull(self, pod_uid: str, image: str, record: Record) -> None:
        key = (pod_uid, image)
        delay, until = self._backoff.get(key, (0.0, 0.0))
        if self.clock() < until:
            message = f'Back-off pulling image "{image}"'
            record("Normal", "BackOff", message)
            raise ImageError("ImagePullBackOff", message, until - self.clock())
        record("Normal", "Pulling", f'Pulling image "{image}"')
        started = self.clock()
        try:
            await self.runtime.pull_image(image)
        except (ImagePullError, InvalidImageNameError) as e:
            delay = min(delay * 2, self.backoff_max) if delay else self.backoff_initial
            self._backoff[key] = (delay, self.clock() + delay)
            message = f'Failed to pull image "{image}": {e}'
            record("Warning", "Failed", message)
            record("Warning", "Failed", "Error: ErrImagePull")
            raise ImageError("ErrImagePull", message, delay / 2) from None
        self._backoff.pop(key, None)
        took = self.clock() - started
        record("Normal", "Pulled", f'Successfully pulled image "{image}" in {took:.3f}s')

    def forget_pod(self, pod_uid: str) -> None:
        for key in [k for k in self._backoff if k[0] == pod_uid]:
            del self._backoff[key]
