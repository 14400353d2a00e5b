"""Copies on instances, with start-up times: what an inference component's copy-count change
does on AWS, on the emulator's clock. Off unless :attr:`Emulator.startup` is set.

Rules (AWS documents the outcome, not the timings; the timings are parameters):

* Copies are placed on the instances of the component's endpoint variant by the
  ``ComputeResourceRequirements`` of its specification (accelerators, CPU cores, memory)
  against the instance type's resources (``core/data/instance_types.json``; a type not in it
  has unknown resources, and every copy fits). A new copy goes
  to the fullest instance with room; it serves ``copy_start`` after the change, or when its
  instance is up if that is later.
* With ``ManagedInstanceScaling`` enabled, a copy with no room launches an instance (up to
  ``MaxInstanceCount``) that is up ``instance_start`` after the change; an instance left
  without copies is released ``instance_release`` later, down to ``MinInstanceCount``
  ("managed instance scaling ... scales in instances that are not in use"). Without it the
  variant keeps its instance count and a copy that does not fit stays unplaced: AWS reports
  ``CurrentCopyCount`` below ``DesiredCopyCount``. (Stricter than a guess that AWS fails the
  update: the controller must notice either way.)
* Removing copies drops those still starting first, then copies of the emptiest instance;
  they stop serving at once. A scale-out keeps the component ``Updating`` until its last new
  copy serves; a scale-in for ``scale_in``. While ``Updating`` it refuses another change
  (``ValidationException``), and Application Auto Scaling does not move it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

EPS = 1e-9


@dataclass(frozen=True)
class StartupModel:
    """How long the emulated SageMaker takes to add and remove copies and instances."""

    copy_start: timedelta = timedelta(minutes=3)
    instance_start: timedelta = timedelta(minutes=10)
    scale_in: timedelta = timedelta(minutes=1)
    instance_release: timedelta = timedelta(0)


@dataclass(frozen=True)
class Needs:
    accelerators: float
    cpus: float
    memory_mb: float


@dataclass
class Instance:
    ready_at: datetime
    accelerators: float
    cpus: float
    memory_mb: float
    copies: list[tuple[str, datetime]] = field(default_factory=list)  # (component, serves from)
    empty_since: datetime | None = None

    def fits(self, needs: Needs, used: Needs) -> bool:
        return (
            used.accelerators + needs.accelerators <= self.accelerators + EPS
            and used.cpus + needs.cpus <= self.cpus + EPS
            and used.memory_mb + needs.memory_mb <= self.memory_mb + EPS
        )


@dataclass
class Placement:
    """The instances of one endpoint variant and the copies on them."""

    instance_type: str
    managed: bool
    min_instances: int
    max_instances: int
    instances: list[Instance] = field(default_factory=list)
    needs: dict[str, Needs] = field(default_factory=dict)
    unplaced: dict[str, int] = field(default_factory=dict)

    def used(self, instance: Instance) -> Needs:
        total = [0.0, 0.0, 0.0]
        for component, _ in instance.copies:
            n = self.needs[component]
            total[0] += n.accelerators
            total[1] += n.cpus
            total[2] += n.memory_mb
        return Needs(*total)

    def new_instance(self, ready_at: datetime) -> Instance:
        from core.sim.packing import instance_table

        spec = instance_table().get(self.instance_type)
        if (
            spec is None
        ):  # resources unknown (not in the shipped table): every copy fits, as before placement
            instance = Instance(ready_at, math.inf, math.inf, math.inf)
        else:
            instance = Instance(ready_at, spec.accelerators, spec.vcpus, spec.memory_mb)
        self.instances.append(instance)
        return instance

    def copies_of(self, component: str) -> list[tuple[Instance, datetime]]:
        return [(i, ready) for i in self.instances for c, ready in i.copies if c == component]

    def serving(self, component: str, now: datetime) -> int:
        return sum(1 for _, ready in self.copies_of(component) if ready <= now)

    def add(self, component: str, now: datetime, model: StartupModel) -> datetime | None:
        """Place one copy; when it serves, or ``None`` if it cannot be placed."""
        needs = self.needs[component]
        best: Instance | None = None
        best_load = -1.0
        for instance in self.instances:
            used = self.used(instance)
            if instance.fits(needs, used) and used.cpus + used.accelerators * 1000 > best_load:
                best, best_load = instance, used.cpus + used.accelerators * 1000
        if best is None:
            if not self.managed or len(self.instances) >= self.max_instances:
                self.unplaced[component] = self.unplaced.get(component, 0) + 1
                return None
            best = self.new_instance(now + model.instance_start)
            if not best.fits(needs, Needs(0, 0, 0)):
                self.instances.remove(best)
                self.unplaced[component] = self.unplaced.get(component, 0) + 1
                return None
        ready = max(best.ready_at, now + model.copy_start)
        best.copies.append((component, ready))
        best.empty_since = None
        return ready

    def remove(self, component: str, now: datetime) -> None:
        """Remove one copy: an unplaced one, else a starting one, else one of the emptiest instance."""
        if self.unplaced.get(component):
            self.unplaced[component] -= 1
            return
        mine = self.copies_of(component)
        if not mine:
            return
        starting = [(i, r) for i, r in mine if r > now]
        if starting:
            instance, ready = max(starting, key=lambda p: p[1])
        else:
            instance, ready = min(mine, key=lambda p: len(p[0].copies))
        instance.copies.remove((component, ready))
        if not instance.copies:
            instance.empty_since = now

    def drop(self, component: str, now: datetime) -> None:
        """Remove every copy of a deleted component."""
        self.unplaced.pop(component, None)
        for instance in self.instances:
            instance.copies = [c for c in instance.copies if c[0] != component]
            if not instance.copies and instance.empty_since is None:
                instance.empty_since = now

    def settle(self, now: datetime, model: StartupModel) -> None:
        """Release the instances empty long enough (managed instance scaling, down to its minimum)."""
        if not self.managed:
            return
        for instance in list(self.instances):
            if len(self.instances) <= self.min_instances:
                break
            if (
                not instance.copies
                and instance.empty_since is not None
                and now >= instance.empty_since + model.instance_release
            ):
                self.instances.remove(instance)


def needs_of(specification: dict[str, Any] | None) -> Needs:
    """A copy's needs from an inference component specification's ``ComputeResourceRequirements``."""
    req = (specification or {}).get("ComputeResourceRequirements") or {}
    return Needs(
        float(req.get("NumberOfAcceleratorDevicesRequired", 0) or 0),
        float(req.get("NumberOfCpuCoresRequired", 0) or 0),
        float(req.get("MinMemoryRequiredInMb", 0) or 0),
    )


def variant_placement(variant: dict[str, Any]) -> Placement:
    """An empty placement for a production variant (its type and managed instance scaling)."""
    managed_cfg = variant.get("ManagedInstanceScaling") or {}
    managed = managed_cfg.get("Status") == "ENABLED"
    initial = int(variant.get("CurrentInstanceCount", variant.get("InitialInstanceCount", 1)) or 0)
    return Placement(
        instance_type=str(variant.get("InstanceType", "")),
        managed=managed,
        min_instances=int(managed_cfg.get("MinInstanceCount", initial)) if managed else initial,
        max_instances=int(managed_cfg.get("MaxInstanceCount", initial)) if managed else initial,
    )
