"""The session bench's results, its table and the issue's targets."""

import statistics
from dataclasses import dataclass, field

from session_stores import OURS, OURS_ENCRYPTED

ENCRYPTED_WORKLOADS = ("append", "reads", "limits")
# Encrypted DjangoSession may cost this much more than plaintext DjangoSession.
MAX_ENCRYPTION_COST = 1.3


@dataclass(eq=False)  # keyed by identity in run_interleaved
class Result:
    workload: str
    unit: str
    operations: int
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float | None:
        runs = self.seconds.get(name)
        return statistics.median(runs) if runs else None


def table(
    engine: str, by_kind: dict[str, list[Result]], baselines: dict[str, str | None]
) -> list[str]:
    """Every result; "ours vs it" = its median / that of the implementation it is
    compared with (baselines: name -> ours, or None for no ratio)."""
    header = f"{'workload':<36} {'implementation':<34} {'median':>10} {'per call':>10}  ours vs it"
    lines = [f"== {engine} ==", header, "-" * len(header)]
    for result in (result for results in by_kind.values() for result in results):
        for name, baseline in baselines.items():
            median = result.median(name)
            if median is None:
                continue
            ours = result.median(baseline) if baseline and baseline != name else None
            ratio = f"{median / ours:.2f}x" if ours else ""
            lines.append(
                f"{result.workload:<36} {name:<34} {median * 1000:>8.1f}ms"
                f" {median / result.operations * 1000:>8.3f}ms  {ratio}"
            )
    return lines


def targets(
    engine: str, by_kind: dict[str, list[Result]], rival: str, small: int, large: int
) -> list[str]:
    """The issue's targets, for the workloads that ran."""
    lines = []
    if "append" in by_kind:
        append = by_kind["append"][0]
        speed = append.median(rival) / append.median(OURS)
        # Runs are interleaved, so each run's ratio compares like with like.
        per_run = [
            theirs / ours
            for theirs, ours in zip(append.seconds[rival], append.seconds[OURS], strict=True)
        ]
        lines.append(
            f"target {engine}: append vs {rival} {speed:.2f}x (>= 1.0x): "
            + ("met" if speed >= 1.0 else "MISSED")
            + f"; single runs {min(per_run):.2f}x-{max(per_run):.2f}x"
        )
    if "limits" in by_kind:
        limit_small, limit_large = by_kind["limits"]
        growth = limit_large.median(OURS) / limit_small.median(OURS)
        lines.append(
            f"target {engine}: get_items(limit=20) at {large:,} / at {small:,}"
            f" = {growth:.2f}x (<= 1.5x): " + ("met" if growth <= 1.5 else "MISSED")
        )
    return lines


def encryption_targets(engine: str, by_kind: dict[str, list[Result]], rival: str) -> list[str]:
    """Encrypted DjangoSession: at most MAX_ENCRYPTION_COST x plaintext DjangoSession,
    and at least as fast as the SDK's EncryptedSession, on append and get_items."""
    results = [
        result
        for kind in ENCRYPTED_WORKLOADS
        for result in by_kind.get(kind, [])
        if result.median(OURS_ENCRYPTED) is not None
    ]
    if not results:
        return []
    costs = [result.median(OURS_ENCRYPTED) / result.median(OURS) for result in results]
    speeds = [result.median(rival) / result.median(OURS_ENCRYPTED) for result in results]

    def listed(ratios: list[float]) -> str:
        return ", ".join(
            f"{result.workload} {ratio:.2f}x" for result, ratio in zip(results, ratios, strict=True)
        )

    cost_met = max(costs) <= MAX_ENCRYPTION_COST
    speed_met = min(speeds) >= 1.0
    return [
        f"target {engine}: encrypted / plaintext DjangoSession (<= {MAX_ENCRYPTION_COST}x):"
        f" {listed(costs)}: " + ("met" if cost_met else "MISSED"),
        f"target {engine}: encrypted DjangoSession vs {rival} (>= 1.0x): {listed(speeds)}: "
        + ("met" if speed_met else "MISSED"),
    ]
