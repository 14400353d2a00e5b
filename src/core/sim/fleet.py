"""Start-up and packing model: copies of one component on instances under managed instance scaling."""

from __future__ import annotations

EPS = 1e-9
"""Tolerance when comparing request counts."""


class _Instance:
    __slots__ = ("copies", "empty_since", "ready_at")

    def __init__(self, ready_at: int) -> None:
        self.ready_at = ready_at
        self.copies: list[int] = []  # the minute each copy starts serving
        self.empty_since: int | None = None


class Fleet:
    """Copies of one inference component packed onto instances under managed instance scaling.

    A new copy goes to the fullest instance with a free slot (serving after
    ``copy_start`` minutes, or when that instance is up); with no free slot a new
    instance is launched and the copy serves after ``instance_start`` minutes. Removing
    copies drops starting ones first, then copies of the emptiest instance; an instance
    without copies is released after ``idle_minutes``. Billing runs from launch to release.
    """

    def __init__(
        self,
        per_instance: int,
        copy_start: int,
        instance_start: int,
        idle_minutes: int = 0,
        scale_in: int = 0,
    ) -> None:
        self.per_instance = per_instance
        self.scale_in = scale_in
        self.busy_until = -(10**9)
        """The component is ``Updating`` until this minute: its new copies serve, or a scale-in completes."""
        self.copy_start = copy_start
        self.instance_start = instance_start
        self.idle_minutes = idle_minutes
        self.instances: list[_Instance] = []
        self.count = 0
        self._ready = 0
        self._next_ready: int | None = None

    def warm(self, copies: int) -> None:
        """Start with ``copies`` already serving (the state before the trace begins)."""
        self.instances = []
        self.count = 0
        for _ in range(copies):
            self._add(-(10**9))
        self._refresh(-(10**9))

    def set_count(self, wanted: int, now: int) -> None:
        """Move the copy count to ``wanted`` at minute ``now``; the component is ``Updating``
        until its last new copy serves, or for ``scale_in`` minutes after a decrease."""
        done = now
        while self.count < wanted:
            done = max(done, self._add(now))
        if self.count > wanted:
            done = now + self.scale_in
        while self.count > wanted:
            self._remove(now)
        self.busy_until = done
        self._refresh(now)

    def busy(self, now: int) -> bool:
        """Whether the component is ``Updating`` at minute ``now`` (it takes no other change)."""
        return now < self.busy_until

    def _add(self, now: int) -> int:
        best: _Instance | None = None
        for inst in self.instances:
            if len(inst.copies) < self.per_instance and (
                best is None or len(inst.copies) > len(best.copies)
            ):
                best = inst
        if best is None:
            best = _Instance(now + self.instance_start)
            self.instances.append(best)
        ready = max(best.ready_at, now + self.copy_start)
        best.copies.append(ready)
        best.empty_since = None
        self.count += 1
        return ready

    def _remove(self, now: int) -> None:
        latest: tuple[int, _Instance] | None = None
        for inst in self.instances:
            for ready in inst.copies:
                if ready > now and (latest is None or ready > latest[0]):
                    latest = (ready, inst)
        if latest is not None:
            latest[1].copies.remove(latest[0])
            inst = latest[1]
        else:
            inst = min((i for i in self.instances if i.copies), key=lambda i: len(i.copies))
            inst.copies.pop()
        if not inst.copies:
            inst.empty_since = now
        self.count -= 1

    def _refresh(self, now: int) -> None:
        self.instances = [
            i
            for i in self.instances
            if i.copies or (i.empty_since is not None and now < i.empty_since + self.idle_minutes)
        ]
        pending = [r for i in self.instances for r in i.copies if r > now]
        self._ready = self.count - len(pending)
        self._next_ready = min(pending) if pending else None

    def tick(self, now: int) -> int:
        """Advance to minute ``now``; returns the copies serving during it."""
        due = self._next_ready is not None and now >= self._next_ready
        if due or (self.idle_minutes and any(not i.copies for i in self.instances)):
            self._refresh(now)
        return self._ready

    @property
    def instance_count(self) -> int:
        return len(self.instances)
