"""Creative insights as pure statistics over metric values: outliers among a title's peers,
effective-vs-authentic appeal, side-by-side comparisons, anomalies over time and
period-over-period change (docs/insights.md gives the formulas)."""
