"""``sagescale calendar --plot``: the effective minimum of every target as a heat map.

One row per target, time across (in the policy's zone, days labelled, DST changes marked),
colour = minimum copies from the exact ``transitions``; under each row a thin strip says why
(idle window, floor, headroom, override or plain minimum), and the calendars' events are named
along the top. Needs matplotlib; never on a Lambda path.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from core.bounds import Transition, calendar_events, transitions
from core.policy import Policy
from core.timewindows import load_zone

WHY = {
    "idle": ("#d0d0d0", "idle window"),
    "floor": ("#f28e2b", "floor (calendar or day)"),
    "headroom": ("#b07aa1", "headroom"),
    "min": ("#ffffff", "minimum"),
}


def _why(reasons: tuple[str, ...]) -> str:
    for prefix in ("floor", "headroom", "idle"):
        if any(r.startswith(prefix + ":") for r in reasons):
            return prefix
    return "min"


def rows_for(
    policy: Policy, start: datetime, end: datetime, targets: list[str]
) -> dict[str, list[Transition]]:
    """Each target's transitions over the range (the first is its state at ``start``)."""
    found: dict[str, list[Transition]] = {name: [] for name in targets}
    for t in transitions(policy, start, end, targets):
        found[t.target].append(t)
    return found


def figure(policy: Policy, start: datetime, end: datetime, targets: list[str]) -> Any:
    """The heat map as a matplotlib figure (``savefig`` it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    zone = load_zone(policy.timezone)
    rows = rows_for(policy, start, end, targets)
    top = max([t.bounds.min for ts in rows.values() for t in ts] + [1])
    palette = plt.get_cmap("viridis", top + 1)
    colours = ListedColormap(["#f0f0f0"] + [palette(i) for i in range(1, top + 1)])
    norm = BoundaryNorm([v - 0.5 for v in range(top + 2)], colours.N)
    days = (end - start).total_seconds() / 86400
    fig, ax = plt.subplots(
        figsize=(max(10.0, min(1.6 * days + 4, 18.0)), 2.8 + 0.9 * len(targets)), dpi=110
    )
    x0, x1 = float(mdates.date2num(start)), float(mdates.date2num(end))  # type: ignore[no-untyped-call]
    for k, name in enumerate(targets):
        y = len(targets) - 1 - k
        spans = rows[name]
        for i, t in enumerate(spans):
            a = float(mdates.date2num(max(t.at, start)))  # type: ignore[no-untyped-call]
            b = float(mdates.date2num(spans[i + 1].at)) if i + 1 < len(spans) else x1  # type: ignore[no-untyped-call]
            ax.axvspan(
                a,
                b,
                ymin=(y + 0.30) / len(targets),
                ymax=(y + 0.95) / len(targets),
                color=colours(norm(t.bounds.min)),
                lw=0,
            )
            ax.axvspan(
                a,
                b,
                ymin=(y + 0.08) / len(targets),
                ymax=(y + 0.24) / len(targets),
                color=WHY[_why(t.bounds.reasons)][0],
                lw=0,
            )
            if (
                b - a
            ) * 24 >= 2.5 * days / 7 and t.bounds.min > 0:  # label spans wide enough to read
                ax.text(
                    (a + b) / 2,
                    y + 0.62,
                    str(t.bounds.min),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if t.bounds.min > top / 2 else "black",
                )
    _mark_days(ax, policy, start, end, zone, mdates)
    ax.set_xlim(x0, x1)
    ax.set_ylim(0, len(targets))
    ax.set_yticks([len(targets) - 1 - k + 0.6 for k in range(len(targets))], targets)
    ax.xaxis.set_major_locator(mdates.DayLocator(tz=zone, interval=1 if days <= 16 else 2))  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(
        mdates.DateFormatter("%a %d %b" if days <= 16 else "%d %b", tz=zone)  # type: ignore[no-untyped-call]
    )
    if days <= 9:
        ax.xaxis.set_minor_locator(mdates.HourLocator(byhour=[6, 12, 18], tz=zone))  # type: ignore[no-untyped-call]
    ax.tick_params(axis="x", labelsize=8)
    sm = plt.cm.ScalarMappable(cmap=colours, norm=norm)
    bar = fig.colorbar(sm, ax=ax, ticks=range(top + 1), pad=0.01, fraction=0.03)
    bar.set_label("minimum copies")
    handles = [Patch(color=c, label=label, ec="#999999") for c, label in WHY.values()]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0, -0.18),
        ncol=4,
        fontsize=8,
        frameon=False,
        title="why (the strip under each row)",
        title_fontsize=8,
    )
    last_day = (end - timedelta(seconds=1)).astimezone(zone)
    ax.set_title(
        f"sagescale calendar: minimum copies, {start.astimezone(zone):%Y-%m-%d} to {last_day:%Y-%m-%d} ({policy.timezone})",
        fontsize=10,
        pad=34,
    )
    fig.tight_layout()
    return fig


def _mark_days(
    ax: Any, policy: Policy, start: datetime, end: datetime, zone: Any, mdates: Any
) -> None:
    """Midnight lines, DST changes, and the calendars' events named along the top."""
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        midnight = datetime.combine(day, datetime.min.time(), zone)
        if start <= midnight < end:
            ax.axvline(float(mdates.date2num(midnight)), color="#666666", lw=0.4, alpha=0.6)
        noon, next_noon = (
            datetime.combine(day, datetime.min.time().replace(hour=12), zone),
            datetime.combine(day + timedelta(days=1), datetime.min.time().replace(hour=12), zone),
        )
        if noon.utcoffset() != next_noon.utcoffset() and start <= next_noon <= end + timedelta(
            days=1
        ):
            change = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
            ax.axvline(float(mdates.date2num(change)), color="#d62728", lw=1.2, ls="--")
            ax.text(
                float(mdates.date2num(change)),
                ax.get_ylim()[1],
                " DST",
                color="#d62728",
                fontsize=7,
                va="bottom",
                ha="left",
            )
        day += timedelta(days=1)
    years = range(start.astimezone(zone).year, end.astimezone(zone).year + 1)
    labelled: set[tuple[date, str]] = set()
    for calendar in policy.calendars.values():
        for event in calendar_events(calendar, years):
            if (
                event.last < start.astimezone(zone).date()
                or event.first > last
                or (event.first, event.name) in labelled
            ):
                continue
            labelled.add((event.first, event.name))
            at = max(datetime.combine(event.first, datetime.min.time(), zone), start)
            ax.text(
                float(mdates.date2num(at)),
                1.01,
                event.name,
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                rotation=25,
                ha="left",
                va="bottom",
                color="#8c564b",
            )
