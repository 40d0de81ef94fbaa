"""The session bench's results, its table and the issue's targets."""

import statistics
from dataclasses import dataclass, field

from session_stores import OURS


@dataclass(eq=False)  # keyed by identity in run_interleaved
class Result:
    workload: str
    unit: str
    operations: int
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float | None:
        runs = self.seconds.get(name)
        return statistics.median(runs) if runs else None


def table(engine: str, by_kind: dict[str, list[Result]], names: list[str]) -> list[str]:
    header = f"{'workload':<36} {'implementation':<24} {'median':>10} {'per call':>10}  ours vs it"
    lines = [f"== {engine} ==", header, "-" * len(header)]
    for result in (result for results in by_kind.values() for result in results):
        ours = result.median(OURS)
        for name in names:
            median = result.median(name)
            if median is None:
                continue
            ratio = "" if name == OURS else f"{median / ours:.2f}x"
            lines.append(
                f"{result.workload:<36} {name:<24} {median * 1000:>8.1f}ms"
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
