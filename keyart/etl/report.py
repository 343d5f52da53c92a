"""What an ingest run did: rows read, kept, quarantined, duplicates, attribution, output."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class IngestReport:
    """The outcome of one ingest run (either engine); JSON-friendly via `to_dict`.

    Every raw row is accounted for: rows_read[t] = kept[t] + sum(quarantined[t]) +
    duplicates[t].
    """

    run_id: str
    engine: str
    rows_read: dict[str, int]
    kept: dict[str, int]
    quarantined: dict[str, dict[str, int]]  # table -> reason -> rows
    duplicates: dict[str, int]  # event tables: repeated ids dropped
    events_without_profile: dict[str, int]  # kept events whose member is not in `members`
    qualified_plays: int
    attributed_plays: int
    unattributed_plays: int
    rollup_rows: dict[str, int]  # rows written this run, per rollup
    days: list[str]  # days (re)built by this run, ISO dates
    warehouse_version: str | None = None
    parent_version: str | None = None
    snapshot_version: str | None = None
    elapsed_s: float = 0.0
    quarantine_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # engine-specific figures
    # dimension table -> {"keys": n, "examples": [...]}: ids repeated with different
    # content; the last delivered row of each was kept (README, "Data safety")
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # quality gates passed over with --accept-anomalies: what they found
    accepted_anomalies: list[str] = field(default_factory=list)

    @property
    def raw_events(self) -> int:
        """Impression and playback rows read."""
        return self.rows_read.get("impressions", 0) + self.rows_read.get("playbacks", 0)

    @property
    def events_per_s(self) -> float:
        """Raw event rows read per second of the whole run."""
        return self.raw_events / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def quarantined_total(self, table: str) -> int:
        """Rows of `table` quarantined for any reason."""
        return sum(self.quarantined.get(table, {}).values())

    def with_updates(self, **changes: Any) -> IngestReport:
        """A copy with some fields replaced (reports are immutable)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict, including the derived throughput."""
        data = asdict(self)
        data["raw_events"] = self.raw_events
        data["events_per_s"] = round(self.events_per_s, 1)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestReport:
        """The inverse of `to_dict` (derived keys are ignored)."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def render(self) -> str:
        """A human-readable summary table for the terminal."""
        lines = [f"ingest {self.run_id} ({self.engine} engine)"]
        for table, found in self.conflicts.items():
            lines.append(
                f"  WARNING: {found['keys']:,} {table} id(s) delivered with different content"
                f" (e.g. {', '.join(map(str, found['examples'][:5]))}); kept the last"
                " delivered row of each"
            )
        lines.extend(f"  WARNING: accepted anomaly: {a}" for a in self.accepted_anomalies)
        width = 12
        lines.append(
            f"  {'table':<12}{'read':>{width}}{'kept':>{width}}{'quarantined':>{width}}"
            f"{'duplicates':>{width}}{'no profile':>{width}}"
        )
        for table, read in self.rows_read.items():
            no_profile = self.events_without_profile.get(table)
            lines.append(
                f"  {table:<12}{read:>{width},}{self.kept.get(table, 0):>{width},}"
                f"{self.quarantined_total(table):>{width},}"
                f"{self.duplicates.get(table, 0):>{width},}"
                f"{'' if no_profile is None else f'{no_profile:,}':>{width}}"
            )
        reasons = [
            f"{table}.{reason}={n:,}"
            for table, by_reason in self.quarantined.items()
            for reason, n in sorted(by_reason.items())
            if n
        ]
        if reasons:
            lines.append("  quarantined by reason: " + ", ".join(reasons))
            if self.quarantine_dir:
                lines.append(f"  quarantine files: {self.quarantine_dir}")
        lines.append(
            f"  qualified plays {self.qualified_plays:,}: attributed {self.attributed_plays:,},"
            f" unattributed {self.unattributed_plays:,}"
        )
        rollups = ", ".join(f"{k} {v:,}" for k, v in self.rollup_rows.items())
        lines.append(f"  rollup rows: {rollups}")
        if self.days:
            lines.append(f"  days: {self.days[0]} .. {self.days[-1]} ({len(self.days)})")
        lines.append(
            f"  warehouse version {self.warehouse_version} (parent {self.parent_version}),"
            f" snapshot {self.snapshot_version}"
        )
        lines.append(f"  elapsed {self.elapsed_s:.1f}s, {self.events_per_s:,.0f} raw events/s")
        return "\n".join(lines)


__all__ = ["IngestReport"]
