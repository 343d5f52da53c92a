"""`keyart druid ingest`: load the current warehouse version's rollups into Druid.

Each rollup is exported to newline-delimited JSON (works with core Druid plus the
druid-datasketches extension), loaded by one `index_parallel` task that replaces the
version's whole day interval, and waited on until the broker answers with exactly the
warehouse's row count and totals.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from keyart.backends.druid.client import DruidClient
from keyart.backends.druid.export import ExportStats, export_rollup
from keyart.backends.druid.ingest_spec import (
    DEFAULT_MAX_ROWS_PER_SEGMENT,
    ingestion_spec,
    interval_text,
)
from keyart.backends.druid.specs import DEFAULT_PREFIX, LOADED_ROLLUPS, ROWS_COLUMN, Datasources
from keyart.errors import BackendQueryError, BackendUnavailable, IngestError, KeyartError
from keyart.warehouse.layout import Version, Warehouse
from keyart.warehouse.tables import Rollup

TASK_PATH = "/druid/indexer/v1/task"
SQL_PATH = "/druid/v2/sql"
CLUSTER_PATH = "/druid/coordinator/v1/cluster"
REQUIRED_EXTENSION = "druid-datasketches"
POLL_S = 1.0
REPORT_EVERY_S = 10.0

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LoadReport:
    """One datasource load: its task, what was loaded and how long it took."""

    datasource: str
    task_id: str
    interval: str
    rows: int
    impressions: int
    qualified_plays: int
    task_s: float
    total_s: float


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class DruidIngestor:
    """Loads warehouse rollups into Druid through the overlord and verifies via the broker."""

    def __init__(
        self,
        overlord_url: str,
        broker_url: str | None = None,
        *,
        coordinator_url: str | None = None,
        timeout_s: float = 900.0,
        datasource_prefix: str = DEFAULT_PREFIX,
        rollups: tuple[Rollup, ...] = LOADED_ROLLUPS,
        max_rows_per_segment: int = DEFAULT_MAX_ROWS_PER_SEGMENT,
        http_timeout_s: float = 30.0,
        progress: Progress | None = _stderr,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        def client(url: str) -> DruidClient:
            return DruidClient(url, timeout_s=http_timeout_s, transport=transport)

        self._client = client
        self.overlord = client(overlord_url)
        # the local cluster (and a router) serve the coordinator API on the overlord's URL
        self.coordinator = client(coordinator_url or overlord_url)
        # without a broker URL, preflight() finds one (find_broker)
        self._broker = None if broker_url is None else client(broker_url)
        self.timeout_s = timeout_s
        self.datasources = Datasources(datasource_prefix)
        self.rollups = rollups
        self.max_rows_per_segment = max_rows_per_segment
        self._progress = progress

    @property
    def broker(self) -> DruidClient:
        """The client of the service that answers queries (given, or found by preflight)."""
        if self._broker is None:
            raise IngestError("no Druid broker known yet: run preflight() first")
        return self._broker

    async def aclose(self) -> None:
        """Close the connection pools."""
        await self.overlord.aclose()
        await self.coordinator.aclose()
        if self._broker is not None:
            await self._broker.aclose()

    def _say(self, line: str) -> None:
        if self._progress is not None:
            self._progress(line)

    async def preflight(self) -> None:
        """Fail fast, before exporting anything, when the overlord is unreachable or lacks
        the DataSketches extension that HLLSketchMerge needs."""
        status = await self.overlord.request("GET", "/status")
        modules = status.get("modules", []) if isinstance(status, dict) else []
        artifacts = {m.get("artifact") for m in modules if isinstance(m, dict)}
        if REQUIRED_EXTENSION not in artifacts:
            raise IngestError(
                f"Druid at {self.overlord.url} does not load {REQUIRED_EXTENSION} (needed for "
                f'HLLSketchMerge); add it to druid.extensions.loadList: ["{REQUIRED_EXTENSION}"]'
            )
        await self.find_broker()

    async def find_broker(self) -> None:
        """Make sure queries can be verified: the given broker must answer one; without one,
        the --druid URL is used when it answers queries (a router), else a broker the
        coordinator lists. IngestError naming every URL that did not answer, within seconds."""
        if self._broker is not None:
            problem = await _query_problem(self._broker)
            if problem is not None:
                raise IngestError(
                    f"the broker {self._broker.url} does not answer queries: {problem}"
                )
            return
        tried: list[str] = []
        candidates = [self.overlord.url]
        try:
            cluster = await self.coordinator.request("GET", CLUSTER_PATH)
        except KeyartError as exc:
            cluster, listing = None, f"; the coordinator listed no broker: {exc}"
        else:
            candidates += _broker_urls(cluster)
            listing = (
                ""
                if len(candidates) > 1
                else (f"; the coordinator at {self.coordinator.url}{CLUSTER_PATH} lists no broker")
            )
        for url in dict.fromkeys(candidates):
            candidate = self._client(url)
            problem = await _query_problem(candidate)
            if problem is None:
                self._broker = candidate
                self._say(f"queries are verified through {url}")
                return
            await candidate.aclose()
            tried.append(problem)
        raise IngestError(
            "found no Druid broker or router that answers queries: "
            + "; ".join(tried)
            + listing
            + "; pass --broker URL"
        )

    async def ingest(self, version: Version) -> list[LoadReport]:
        """Load every configured rollup of `version`; returns when all are queryable."""
        deadline = time.monotonic() + self.timeout_s
        await self.preflight()
        with tempfile.TemporaryDirectory(prefix="keyart-druid-") as tmp:
            jobs = []
            for rollup in self.rollups:
                out = Path(tmp) / rollup.name
                stats = await asyncio.to_thread(export_rollup, version, rollup, out)
                if not stats.days:
                    self._say(f"{rollup.name}: no days in version {version.name}; skipped")
                    continue
                self._say(
                    f"{rollup.name}: exported {stats.rows} rows of {len(stats.days)} days "
                    f"from version {version.name}"
                )
                jobs.append(self._load(rollup, stats, out, version.lg_k, deadline))
            # the tasks run side by side in Druid; each waits for its own datasource
            return list(await asyncio.gather(*jobs))

    async def _load(
        self, rollup: Rollup, stats: ExportStats, folder: Path, lg_k: int, deadline: float
    ) -> LoadReport:
        started = time.monotonic()
        datasource = self.datasources.of(rollup)
        interval = interval_text(stats.days[0], stats.days[-1])
        spec = ingestion_spec(
            datasource=datasource,
            rollup=rollup,
            base_dir=folder,
            interval=interval,
            lg_k=lg_k,
            max_rows_per_segment=self.max_rows_per_segment,
        )
        task_id = await self.submit(spec)
        self._say(f"{datasource}: submitted task {task_id} for {interval}")
        await self.wait_task(task_id, datasource, deadline, stats.rows)
        task_s = time.monotonic() - started
        await self.wait_queryable(datasource, interval, stats, deadline)
        total_s = time.monotonic() - started
        self._say(
            f"{datasource}: {stats.rows} rows queryable after {total_s:.1f}s (task {task_s:.1f}s)"
        )
        return LoadReport(
            datasource, task_id, interval, stats.rows, stats.impressions,
            stats.qualified_plays, task_s, total_s,
        )  # fmt: skip

    async def submit(self, spec: dict[str, Any]) -> str:
        """Submit an ingestion task to the overlord; its task id."""
        answer = await self.overlord.request("POST", TASK_PATH, json_body=spec)
        task_id = answer.get("task") if isinstance(answer, dict) else None
        if not isinstance(task_id, str):
            raise IngestError(f"overlord at {self.overlord.url} did not return a task id: {answer}")
        return task_id

    async def task_status(self, task_id: str) -> dict[str, Any]:
        """The `status` object of a task (`status`/`statusCode`, `errorMsg`, `duration`)."""
        answer = await self.overlord.request("GET", f"{TASK_PATH}/{task_id}/status")
        status = answer.get("status") if isinstance(answer, dict) else None
        if not isinstance(status, dict):
            raise IngestError(f"unexpected status answer for Druid task {task_id}: {answer}")
        return status

    async def wait_task(
        self, task_id: str, datasource: str, deadline: float, rows: int | None = None
    ) -> None:
        """Poll a task until SUCCESS; IngestError with Druid's errorMsg on FAILED or timeout.

        Every REPORT_EVERY_S it reports progress (rows processed so far, of `rows`)."""
        started = last_report = time.monotonic()
        state = "?"
        while True:
            status = await self.task_status(task_id)
            state = str(status.get("statusCode") or status.get("status") or "UNKNOWN")
            if state == "SUCCESS":
                return
            if state == "FAILED":
                message = str(status.get("errorMsg") or "no errorMsg reported")
                message = message.strip().splitlines()[0]  # the rest is a Java stack trace
                detail = await self.parse_errors(task_id)
                raise IngestError(
                    f"Druid task {task_id} loading {datasource} failed: {message}"
                    f"{'; ' + detail if detail else ''} "
                    f"(task log: {self.overlord.url}{TASK_PATH}/{task_id}/log)"
                )
            now = time.monotonic()
            if now >= deadline:
                raise IngestError(
                    f"Druid task {task_id} loading {datasource} still {state} after "
                    f"{now - started:.0f}s; gave up (it may still finish)"
                )
            if now - last_report >= REPORT_EVERY_S:
                done = await self.processed_rows(task_id) if state == "RUNNING" else None
                of = f"/{rows}" if rows else ""
                progress = "" if done is None else f", {done}{of} rows processed"
                self._say(f"{datasource}: task {state} ({now - started:.0f}s{progress})")
                last_report = now
            await asyncio.sleep(POLL_S)

    async def processed_rows(self, task_id: str) -> int | None:
        """Rows a running task has processed so far (its live report), None if unknown."""
        try:
            answer = await self.overlord.request("GET", f"{TASK_PATH}/{task_id}/reports")
            totals = answer["ingestionStatsAndErrors"]["payload"]["rowStats"]["totals"]
            return int(totals["buildSegments"]["processed"])
        except (BackendUnavailable, BackendQueryError, KeyError, TypeError, ValueError):
            return None

    async def parse_errors(self, task_id: str) -> str:
        """Druid's saved parse-exception details of a task ('' when none or unavailable)."""
        try:
            answer = await self.overlord.request("GET", f"{TASK_PATH}/{task_id}/reports")
        except (BackendUnavailable, BackendQueryError):
            return ""
        try:
            events = answer["ingestionStatsAndErrors"]["payload"]["unparseableEvents"]
        except (KeyError, TypeError):
            return ""
        details = [
            str(d)
            for phase in (events.values() if isinstance(events, dict) else [])
            for event in (phase if isinstance(phase, list) else [])
            for d in (event.get("details") or [] if isinstance(event, dict) else [])
        ]
        return "; ".join(details[:3])

    async def load_status(self, datasource: str, interval: str) -> float:
        """Percent of the interval's used segments the historicals serve (coordinator)."""
        # without `interval` the coordinator only looks at the last two weeks
        answer = await self.coordinator.request(
            "GET",
            f"/druid/coordinator/v1/datasources/{datasource}/loadstatus",
            params={"forceMetadataRefresh": "true", "interval": interval},
        )
        if isinstance(answer, dict) and datasource in answer:
            return float(answer[datasource])
        return 0.0

    async def broker_totals(self, datasource: str, interval: str) -> tuple[int, int, int]:
        """Rows, impressions and qualified plays the broker reports for the interval."""
        query = {
            "queryType": "timeseries",
            "dataSource": datasource,
            "granularity": "all",
            "intervals": [interval],
            "aggregations": [
                {"type": "longSum", "name": n, "fieldName": n}
                for n in (ROWS_COLUMN, "impressions", "qualified_plays")
            ],
            # never answer a verification from a cache of the previous load
            "context": {"useCache": False, "populateCache": False},
        }
        answer = await self.broker.query(query)
        if not answer:
            return (0, 0, 0)
        result = answer[0]["result"]
        return (
            int(result.get(ROWS_COLUMN) or 0),
            int(result.get("impressions") or 0),
            int(result.get("qualified_plays") or 0),
        )

    async def wait_queryable(
        self, datasource: str, interval: str, stats: ExportStats, deadline: float
    ) -> None:
        """Wait until segments are loaded and the broker's totals equal the warehouse's."""
        expected = (stats.rows, stats.impressions, stats.qualified_plays)
        seen: tuple[int, int, int] | None = None
        percent = 0.0
        last_error = ""
        while True:
            try:
                percent = await self.load_status(datasource, interval)
                if percent >= 100.0:
                    seen = await self.broker_totals(datasource, interval)
                    if seen == expected:
                        return
            except (BackendUnavailable, BackendQueryError) as exc:
                # a brand-new datasource is unknown to the coordinator/broker for a moment
                last_error = f"; last error: {exc}"
            if time.monotonic() >= deadline:
                raise IngestError(
                    f"{datasource} not queryable in time: coordinator reports {percent:.0f}% "
                    f"loaded; broker totals (rows, impressions, qualified plays) {seen} != "
                    f"warehouse {expected}{last_error}"
                )
            await asyncio.sleep(POLL_S)


async def _query_problem(client: DruidClient) -> str | None:
    """None when the service answers a trivial SQL query, else why it did not."""
    try:
        await client.request("POST", SQL_PATH, json_body={"query": "SELECT 1"})
    except KeyartError as exc:
        return str(exc)
    return None


def _broker_urls(cluster: Any) -> list[str]:
    """The URLs of the brokers in the coordinator's cluster listing."""
    nodes = cluster.get("broker", []) if isinstance(cluster, dict) else []
    urls = []
    for node in nodes:
        if not isinstance(node, dict) or not node.get("host"):
            continue
        if node.get("plaintextPort", -1) > 0:
            urls.append(f"http://{node['host']}:{node['plaintextPort']}")
        elif node.get("tlsPort", -1) > 0:
            urls.append(f"https://{node['host']}:{node['tlsPort']}")
    return urls


async def ingest_warehouse(
    warehouse: Path | str,
    overlord_url: str,
    broker_url: str | None = None,
    *,
    coordinator_url: str | None = None,
    timeout_s: float = 900.0,
    datasource_prefix: str = DEFAULT_PREFIX,
    rollups: tuple[Rollup, ...] = LOADED_ROLLUPS,
    progress: Progress | None = _stderr,
) -> list[LoadReport]:
    """Load the current warehouse version into Druid (idempotent per interval)."""
    version = Warehouse(warehouse).current()
    ingestor = DruidIngestor(
        overlord_url,
        broker_url,
        coordinator_url=coordinator_url,
        timeout_s=timeout_s,
        datasource_prefix=datasource_prefix,
        rollups=rollups,
        progress=progress,
    )
    try:
        return await ingestor.ingest(version)
    finally:
        await ingestor.aclose()


__all__ = ["DruidIngestor", "LoadReport", "ingest_warehouse"]
