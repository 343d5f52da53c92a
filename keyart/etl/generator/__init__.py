"""The synthetic raw-event generator behind `keyart generate`: `dataset` writes a profile's
raw directory from the building blocks (`profiles`, `catalog`, `audience`, `events`,
`defects`, `vocab`)."""

from keyart.etl.generator.dataset import (
    EVENT_TABLES,
    PLANTED_FILE,
    GenerateSummary,
    generate,
    render_summary,
)

__all__ = ["EVENT_TABLES", "PLANTED_FILE", "GenerateSummary", "generate", "render_summary"]
