"""`keyart validate`: ask two stacks the same questions about chosen titles and compare
every answer with the rule of compare.py; exit 0 when all agree, 1 otherwise."""

from __future__ import annotations

import argparse
import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tqdm import tqdm

from keyart.backends.base import Backend
from keyart.config import ApiSettings
from keyart.errors import BadUserInput, ConfigError, KeyartError
from keyart.query import Interval
from keyart.rollout.compare import compare_results, disagreements
from keyart.rollout.questions import SAMPLES, Question, pick_titles, questions_for
from keyart.state.rollout import Disagreement

CONCURRENCY = 4


@dataclass
class Validation:
    """The outcome of one run: what was asked, how many values were compared, and every
    disagreement (worst first after `finish`)."""

    backend: str
    against: str
    warehouse_version: str
    window: Interval
    titles: dict[str, str]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    run_id: str = field(default_factory=lambda: secrets.token_hex(8))
    questions: int = 0
    comparisons: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether both stacks agreed on everything."""
        return not self.disagreements

    def finish(self) -> None:
        """Order disagreements worst first: by how far outside tolerance, relative to the
        reference value."""
        self.disagreements.sort(key=lambda d: (-_severity(d), d.question, d.group, d.metric))


def _severity(d: Disagreement) -> float:
    return d.excess / max(abs(d.against_value), 1.0)


async def run_validation(
    backend: Backend,
    against: Backend,
    window: Interval,
    *,
    warehouse_version: str,
    samples: tuple[str, ...] = SAMPLES,
    per_sample: int = 10,
    slack: float = 1.0,
    progress: bool = True,
) -> Validation:
    """Pick titles from `against`, ask both stacks every question, compare."""
    titles = await pick_titles(against, window, samples, per_sample)
    if not titles:
        # nothing compared must not read as agreement
        raise BadUserInput(
            f"the {getattr(against, 'name', 'reference')} stack has no titles with data in "
            f"{window.start.isoformat()}..{window.end.isoformat()}: nothing to validate"
        )
    questions = [q for t, why in titles.items() for q in questions_for(t, why, window)]
    result = Validation(
        str(getattr(backend, "name", "backend")),
        str(getattr(against, "name", "against")),
        warehouse_version,
        window,
        titles,
    )
    gate = asyncio.Semaphore(CONCURRENCY)

    async def ask(question: Question) -> None:
        async with gate:
            a, b = await asyncio.gather(
                backend.execute(question.query), against.execute(question.query)
            )
        groups = compare_results(question.query, a, b, slack)
        result.questions += 1
        result.comparisons += sum(len(g.verdicts) for g in groups)
        for group, v in disagreements(groups):
            result.disagreements.append(
                Disagreement(
                    question.label, group.label, v.metric.value, v.a, v.b, v.tolerance, v.excess
                )
            )
        bar.update(1)

    with tqdm(
        total=len(questions), desc=f"validate {result.backend} vs {result.against}",
        unit="q", disable=not progress,
    ) as bar:  # fmt: skip
        await asyncio.gather(*(ask(q) for q in questions))
    result.finish()
    return result


def main(args: argparse.Namespace) -> int:
    """Run `keyart validate`; 0 when the stacks agree, 1 when they do not."""
    from keyart.rollout.report import write_report

    samples = tuple(s.strip() for s in args.sample.split(",") if s.strip())
    bad = [s for s in samples if s not in SAMPLES]
    if bad or not samples:
        raise BadUserInput(f"--sample takes recent, top and/or edge, got {args.sample!r}")
    if args.titles < 1:
        raise BadUserInput(f"--titles must be at least 1, got {args.titles}")
    if args.slack < 1.0:
        raise BadUserInput(f"--slack must be at least 1.0, got {args.slack}")
    if args.backend == args.against:
        raise BadUserInput("--backend and --against name the same stack")
    if args.report is not None and args.report.suffix.lower() not in (".md", ".html", ".json"):
        raise BadUserInput(f"--report must end in .md, .html or .json, got {args.report}")
    if not args.warehouse.is_dir():
        raise ConfigError(f"warehouse {args.warehouse} does not exist")
    settings = ApiSettings.from_env().with_overrides(
        warehouse=args.warehouse, druid_url=args.druid_url, state_url=args.state_url
    )
    from keyart.warehouse.layout import Warehouse

    version = Warehouse(args.warehouse).current()
    days = version.days
    if not days:
        raise BadUserInput(f"warehouse version {version.name} has no days of data")
    window = Interval(days[0], days[-1])
    build = _builder(settings, args.druid_prefix, version.lg_k)
    result = asyncio.run(_run(build, args, window, version.name, samples, not args.no_progress))
    _record(settings, result)
    if args.report is not None:
        write_report(result, args.report)
    print(summary(result))
    for d in result.disagreements[:10]:
        print(f"  {d.question} [{d.group}] {d.metric}: {d.value:g} vs {d.against_value:g} "
              f"(tolerance {d.tolerance:g}, outside by {d.excess:g})")  # fmt: skip
    return 0 if result.passed else 1


async def _run(
    build: Callable[[str], Backend],
    args: argparse.Namespace,
    window: Interval,
    version: str,
    samples: tuple[str, ...],
    progress: bool,
) -> Validation:
    backend, against = build(args.backend), build(args.against)
    try:
        return await run_validation(
            backend, against, window, warehouse_version=version, samples=samples,
            per_sample=args.titles, slack=args.slack, progress=progress,
        )  # fmt: skip
    finally:
        await backend.aclose()
        await against.aclose()


def _builder(settings: ApiSettings, prefix: str, lg_k: int) -> Callable[[str], Backend]:
    def build(name: str) -> Backend:
        if name == "druid":
            from keyart.backends.druid import DruidBackend

            return DruidBackend(
                settings.druid_url, timeout_s=settings.druid_timeout_s, lg_k=lg_k,
                datasource_prefix=prefix,
            )  # fmt: skip
        from keyart.server import build_backend

        return build_backend(settings, name)

    return build


def _record(settings: ApiSettings, result: Validation) -> None:
    from keyart.state.rollout import ValidationStore
    from keyart.state.store import StateStore, state_url

    try:
        store = StateStore.open(state_url(settings.warehouse, settings.state_url))
    except KeyartError as exc:
        print(f"keyart: warning: the run is not recorded: {exc}")
        return
    try:
        ValidationStore(store).record(
            result.run_id,
            started_at=result.started_at,
            backend=result.backend,
            against=result.against,
            warehouse_version=result.warehouse_version,
            questions=result.questions,
            comparisons=result.comparisons,
            disagreements=result.disagreements,
        )
    finally:
        store.close()


def summary(result: Validation) -> str:
    """One line: the verdict and the counts."""
    verdict = "AGREE" if result.passed else "DISAGREE"
    return (
        f"{verdict}: {result.backend} vs {result.against} on warehouse "
        f"{result.warehouse_version}, {len(result.titles)} titles, {result.questions} "
        f"questions, {result.comparisons} values compared, "
        f"{len(result.disagreements)} outside tolerance (run {result.run_id})"
    )


def as_json(result: Validation) -> dict[str, Any]:
    """The run as plain JSON."""
    return {
        "run_id": result.run_id,
        "passed": result.passed,
        "backend": result.backend,
        "against": result.against,
        "warehouse_version": result.warehouse_version,
        "window": [result.window.start.isoformat(), result.window.end.isoformat()],
        "titles": result.titles,
        "questions": result.questions,
        "comparisons": result.comparisons,
        "disagreements": [
            {
                "question": d.question,
                "group": d.group,
                "metric": d.metric,
                "value": d.value,
                "against_value": d.against_value,
                "tolerance": d.tolerance,
                "outside_by": d.excess,
            }
            for d in result.disagreements
        ],
    }


__all__ = ["Validation", "as_json", "main", "run_validation", "summary"]
