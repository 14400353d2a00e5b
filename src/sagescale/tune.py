"""``sagescale tune``: search a policy target's parameters on traces, as hyperparameters are tuned.

Each trial sets the target's parameters (its minimum, each floor's minimum and lead, each idle
window kept or dropped, each alarm rule's change and hold, the cooldowns, the wake's sizing, the
burst rule (none, or its per-copy rate and panic factor), each headroom window's copies or share of the peak),
runs the simulator's ``policy`` strategy (the Lambdas' own decision code) on every trace, and
scores the trial by its total cost and by the least served fraction over the traces. optuna's
multi-objective TPE sampler (seeded: the same seed gives the same trials) minimizes cost and
maximizes served, under the constraint served >= ``min_served`` on every trace. The original
policy is the first trial, so the result is never worse than the file on the traces. Trials
run in batches across processes (one per core).
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import warnings
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.policy import Policy, PolicyError, Target, parse_policy
from core.sim.config import SimConfig
from core.sim.run import simulate
from core.sim.traces import Trace

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Outcome:
    """One trial: its parameters, the cost over all traces and the served fraction of each."""

    number: int
    params: dict[str, Any]
    cost_usd: float
    served: tuple[float, ...]

    @property
    def served_fraction(self) -> float:
        """The least served fraction over the traces (the constraint's side)."""
        return min(self.served, default=1.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "trial": self.number,
            "cost_usd": round(self.cost_usd, 2),
            "served_fraction": round(self.served_fraction, 6),
            "params": self.params,
        }


@dataclass
class TuneResult:
    target: str
    min_served: tuple[float, ...]  # one per trace
    trials: list[Outcome] = field(default_factory=list)

    def shortfall(self, outcome: Outcome) -> float:
        """How far the trial falls short of its trace's fraction on the worst trace (<= 0: feasible)."""
        return max(
            (f - s for f, s in zip(self.min_served, outcome.served, strict=True)), default=0.0
        )

    @property
    def feasible(self) -> list[Outcome]:
        return [t for t in self.trials if self.shortfall(t) <= 0]

    @property
    def best(self) -> Outcome:
        """The cheapest trial that serves each trace's ``min_served``; else the one that falls least short."""
        if self.feasible:
            return min(self.feasible, key=lambda t: (t.cost_usd, -t.served_fraction, t.number))
        return min(self.trials, key=lambda t: (self.shortfall(t), t.cost_usd, t.number))

    @property
    def pareto(self) -> list[Outcome]:
        """Trials no other trial beats on both cost and served, cheapest first."""
        front = [
            t
            for t in self.trials
            if not any(
                o.cost_usd <= t.cost_usd
                and o.served_fraction >= t.served_fraction
                and (o.cost_usd, o.served_fraction) != (t.cost_usd, t.served_fraction)
                for o in self.trials
            )
        ]
        unique = {
            (round(t.cost_usd, 6), round(t.served_fraction, 9)): t
            for t in sorted(front, key=lambda t: -t.number)
        }
        return sorted(unique.values(), key=lambda t: (t.cost_usd, t.served_fraction))

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "min_served": self.min_served[0]
            if len(set(self.min_served)) == 1
            else list(self.min_served),
            "trials": len(self.trials),
            "feasible": bool(self.feasible),
            "best": self.best.as_dict(),
            "pareto": [t.as_dict() for t in self.pareto],
        }


def original_params(target: Target) -> dict[str, Any]:
    """The parameters as the policy file has them (the first trial)."""
    params: dict[str, Any] = {
        "min": target.min,
        "cooldown.out": target.cooldown.out,
        "cooldown.in": target.cooldown.in_,
    }
    for i, f in enumerate(target.floors):
        params[f"floors[{i}].min"] = f.min
        params[f"floors[{i}].lead"] = f.lead
    for i in range(len(target.idle)):
        params[f"idle[{i}].keep"] = True
    for i, a in enumerate(target.alarms):
        params[f"alarms[{i}].change"] = abs(a.change)
        params[f"alarms[{i}].hold"] = a.hold
    if target.wake:
        params["wake.per_copy"] = 0.0 if isinstance(target.wake, bool) else target.wake.per_copy
    for i, window in enumerate(target.headroom):
        if window.of_peak is not None:
            params[f"headroom[{i}].fraction"] = window.of_peak.fraction
        else:
            params[f"headroom[{i}].copies"] = window.copies
    if target.resource_kind != "async":
        params["burst.per_copy"] = target.burst.per_copy if target.burst is not None else 0.0
        if target.burst is not None:
            params["burst.panic"] = target.burst.panic
    return params


_PANIC = (1.0, 1.5, 2.0, 3.0)
_FRACTIONS = (0.0, 0.25, 0.5, 1.0)  # of the recent peak; 0 drops the window


def _choices(defaults: Sequence[float], original: float | None) -> list[float]:
    """A categorical's choices: the defaults and the policy's own value (its first trial)."""
    return sorted({*defaults, *(() if original is None else (original,))})


def suggest(trial: Any, target: Target, config: SimConfig) -> dict[str, Any]:
    """One trial's parameters for ``target`` (optuna's ``trial.suggest_*``), within the default
    ranges or the narrower ones of the sim config's ``tune:`` section."""
    narrow = config.tune

    def between(
        name: str, default: tuple[int, int], given: tuple[int, int] | None, step: int = 1
    ) -> int:
        low, high = given if given is not None else default
        if given is None and step > 1:
            high = low + (high - low) // step * step
        value: int = trial.suggest_int(name, low, high, step=step if given is None else 1)
        return value

    params: dict[str, Any] = {
        "min": between("min", (1 if target.is_realtime else 0, target.max), narrow.min)
    }
    for i, floor in enumerate(
        target.floors
    ):  # default ranges hold the file's own values (the first trial)
        params[f"floors[{i}].min"] = between(
            f"floors[{i}].min", (1, max(target.max, floor.min)), narrow.floor_min
        )
        params[f"floors[{i}].lead"] = between(
            f"floors[{i}].lead", (0, 240), narrow.floor_lead, step=15
        )
    for i in range(len(target.idle)):
        params[f"idle[{i}].keep"] = (
            narrow.keep_idle
            if narrow.keep_idle is not None
            else trial.suggest_categorical(f"idle[{i}].keep", [True, False])
        )
    for i, rule in enumerate(target.alarms):
        params[f"alarms[{i}].change"] = between(
            f"alarms[{i}].change", (1, max(target.max, abs(rule.change))), narrow.alarm_change
        )
        params[f"alarms[{i}].hold"] = between(
            f"alarms[{i}].hold", (5, 120), narrow.alarm_hold, step=5
        )
    params["cooldown.out"] = between("cooldown.out", (0, 600), narrow.cooldown_out, step=30)
    params["cooldown.in"] = between("cooldown.in", (0, 1800), narrow.cooldown_in, step=60)
    if (
        target.wake
    ):  # 0: a wake orders 1 copy; else the copies the rejected rate needs at this per-copy rate
        params["wake.per_copy"] = trial.suggest_categorical(
            "wake.per_copy", [0.0, round(config.capacity_per_copy, 3)]
        )
    for i, window in enumerate(target.headroom):  # 0: the window is dropped
        if window.of_peak is not None:
            params[f"headroom[{i}].fraction"] = trial.suggest_categorical(
                f"headroom[{i}].fraction", _choices(_FRACTIONS, window.of_peak.fraction)
            )
        else:
            params[f"headroom[{i}].copies"] = between(
                f"headroom[{i}].copies",
                (0, max(target.max, window.copies or 0)),
                narrow.headroom_copies,
            )
    if (
        target.resource_kind != "async"
    ):  # 0: no burst rule; else demand / per_copy is what it orders
        cap = config.capacity_per_copy
        own = target.burst
        if narrow.burst is False:
            params["burst.per_copy"] = 0.0
        else:
            choices = _choices(
                [round(0.8 * cap, 3), round(cap, 3)] + ([] if narrow.burst else [0.0]),
                own.per_copy if own is not None else None,
            )
            params["burst.per_copy"] = trial.suggest_categorical("burst.per_copy", choices)
        if params["burst.per_copy"]:
            params["burst.panic"] = trial.suggest_categorical(
                "burst.panic", _choices(_PANIC, own.panic if own is not None else None)
            )
    return params


def apply(policy_doc: MutableMapping[str, Any], target: str, params: Mapping[str, Any]) -> None:
    """Write ``params`` into the target's section of a policy document (plain or ruamel, in place)."""
    t = policy_doc["targets"][target]
    t["min"] = params["min"]
    cooldown = t.setdefault("cooldown", {})
    cooldown["out"], cooldown["in"] = params["cooldown.out"], params["cooldown.in"]
    for i, floor in enumerate(t.get("floors", [])):
        floor["min"], floor["lead"] = params[f"floors[{i}].min"], params[f"floors[{i}].lead"]
    for i, rule in enumerate(t.get("alarms", [])):
        sign = 1 if rule["change"] > 0 else -1
        rule["change"], rule["hold"] = (
            sign * params[f"alarms[{i}].change"],
            params[f"alarms[{i}].hold"],
        )
    if "wake.per_copy" in params:
        if params["wake.per_copy"]:
            _flow_map(t, "wake")["per_copy"] = params["wake.per_copy"]
        else:
            t["wake"] = True
    if "burst.per_copy" in params:
        _apply_burst(t, params)
    _drop_or_set(
        t,
        "headroom",
        lambda i, window: _headroom(
            window, params.get(f"headroom[{i}].copies"), params.get(f"headroom[{i}].fraction")
        ),
    )
    _drop_or_set(t, "idle", lambda i, _window: params.get(f"idle[{i}].keep", True))


def _headroom(window: MutableMapping[str, Any], copies: int | None, fraction: float | None) -> bool:
    """Set a headroom window's size; False (drop it) for 0."""
    if fraction is not None:
        if fraction:
            window["of_peak"]["fraction"] = fraction
        return fraction != 0
    if copies:
        window["copies"] = copies
    return copies != 0


def _drop_or_set(t: MutableMapping[str, Any], key: str, keep: Callable[[int, Any], bool]) -> None:
    """Drop the windows of list ``key`` that ``keep(i, window)`` refuses (which may also change them),
    in place, so that a ruamel list keeps its comments; an emptied list goes."""
    windows = t.get(key)
    if windows is None:
        return
    for i in reversed(range(len(windows))):
        if not keep(i, windows[i]):
            del windows[i]
    if not windows:
        del t[key]


def _apply_burst(t: MutableMapping[str, Any], params: Mapping[str, Any]) -> None:
    if not params["burst.per_copy"]:
        t.pop("burst", None)
        return
    burst = _flow_map(t, "burst")
    burst["per_copy"] = params["burst.per_copy"]
    burst["panic"] = params.get("burst.panic", 1.0)


def _flow_map(t: MutableMapping[str, Any], key: str) -> MutableMapping[str, Any]:
    """``t[key]`` as a map, made if it is not one; a new ruamel map is written in flow style, as
    the policy's own small maps are."""
    if not isinstance(t.get(key), MutableMapping):
        t[key] = type(t)()
        if hasattr(t[key], "fa"):
            t[key].fa.set_flow_style()
    value: MutableMapping[str, Any] = t[key]
    return value


# -- evaluation, in worker processes ----------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init(config: SimConfig, traces: Sequence[Trace], target: str) -> None:
    _WORKER.update(config=config, traces=list(traces), target=target)


def _evaluate(doc_json: str, index: int) -> tuple[float, float]:
    policy = parse_policy(json.loads(doc_json))
    trace: Trace = _WORKER["traces"][index]
    sim = simulate(
        policy,
        _WORKER["target"],
        trace.start,
        trace.requests,
        _WORKER["config"],
        strategies=["policy"],
    )
    result = sim.strategies["policy"]
    return result.cost_usd, result.served_fraction


def tune(
    policy_doc: Mapping[str, Any],
    target: str,
    traces: Sequence[Trace],
    config: SimConfig,
    *,
    min_served: float | Sequence[float],
    trials: int = 40,
    seed: int = 1,
    jobs: int = 2,
    progress: Progress | None = None,
) -> TuneResult:
    """Run ``trials`` trials (the first is the policy as it is) and return every outcome.

    ``min_served``: the fraction every trace must serve, or one per trace (a spike nobody
    announced cannot be served as fully as a known holiday)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    policy: Policy = parse_policy(copy.deepcopy(dict(policy_doc)))
    spec = policy.targets[target]
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(trials // 4, 1)))
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=sampler)
    study.enqueue_trial(original_params(spec))
    floors = (
        (float(min_served),) * len(traces)
        if isinstance(min_served, int | float)
        else tuple(float(f) for f in min_served)
    )
    if len(floors) != len(traces):
        raise ValueError(
            f"min_served: one fraction, or one per trace ({len(traces)}); got {len(floors)}"
        )
    result = TuneResult(target, floors)
    # spawn, not fork: optuna's threads in this process must not be forked half-way
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=max(jobs, 1),
        mp_context=context,
        initializer=_init,
        initargs=(config, list(traces), target),
    ) as pool:
        asked = 0
        while len(result.trials) < trials and asked < 4 * trials:
            batch = [study.ask() for _ in range(min(max(jobs, 1), trials - len(result.trials)))]
            asked += len(batch)
            docs = []
            for trial in batch:
                with (
                    warnings.catch_warnings()
                ):  # the first trial's own values may lie outside narrowed ranges
                    warnings.filterwarnings(
                        "ignore", message="Fixed parameter", category=UserWarning
                    )
                    params = suggest(trial, spec, config)
                doc = json.loads(json.dumps(policy_doc, default=str))
                apply(doc, target, params)
                try:
                    parse_policy(copy.deepcopy(doc))
                except PolicyError:  # a combination the policy refuses: not a trial
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                docs.append((trial, params, json.dumps(doc)))
            futures = {
                (k, i): pool.submit(_evaluate, d, i)
                for k, (_, _, d) in enumerate(docs)
                for i in range(len(traces))
            }
            for k, (trial, params, _) in enumerate(docs):
                scores = [futures[(k, i)].result() for i in range(len(traces))]
                outcome = Outcome(
                    trial.number, params, sum(c for c, _ in scores), tuple(s for _, s in scores)
                )
                trial.set_constraint("served", result.shortfall(outcome))  # feasible when <= 0
                study.tell(trial, [outcome.cost_usd, outcome.served_fraction])
                result.trials.append(outcome)
                if progress is not None:
                    progress(len(result.trials), trials)
    return result


def load_round_trip(path: Path) -> Any:
    """The policy file as a ruamel.yaml document, so that writing it back keeps its comments."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream)


def dump_round_trip(doc: Any, header: str) -> str:
    import io

    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(
        mapping=2, sequence=4, offset=2
    )  # lists indented under their key, as policies are written
    out = io.StringIO()
    yaml.dump(doc, out)
    return (
        "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + out.getvalue()
    )
