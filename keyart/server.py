"""The HTTP server: Starlette app with /graphql, /healthz, /readyz and /metrics; `keyart serve`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from keyart.access.gate import KEY_NAME, REQUEST_ID, AccessGate
from keyart.access.persisted import (
    Manifest,
    PersistedQueries,
    PersistedQueryRefusal,
    persisted_id,
)
from keyart.access.ratelimit import RateLimiter
from keyart.access.verifier import KeyVerifier
from keyart.backends.base import Backend, ServingState, Warming
from keyart.cache import ResponseCache, ResultCache
from keyart.config import ApiSettings
from keyart.errors import ConfigError, KeyartError, SnapshotError, WarehouseError
from keyart.http_errors import error_response
from keyart.loaders import MetricLoader, QueryExecutor
from keyart.metrics import ApiMetrics
from keyart.resolvers.context import RequestContext, SnapshotMemo, data_version
from keyart.rollout.router import request_route
from keyart.rollout.runtime import Rollout
from keyart.schema import KeyartSchema, build_schema
from keyart.state import KeyStore, StateStore, state_url
from keyart.store.consumer import SnapshotConsumer
from keyart.store.model import Snapshot

log = logging.getLogger(__name__)

PING_TIMEOUT_S = 2.0
# why /readyz keeps the server out of rotation when it must wait for the serving copy
SERVING_NOT_READY: dict[ServingState, str] = {
    "ready": "serving copy ready",
    "building": "serving copy not built yet",
    "off": "serving copy disabled, but KEYART_READY_REQUIRES_SERVING_COPY asks for it",
    "failed": "serving copy could not be built (see the log); day files answer meanwhile",
}
NO_DATA_VERSION = "none"


def build_backend(settings: ApiSettings, name: str | None = None) -> Backend:
    """The OLAP backend named in the settings (embedded, druid, or legacy for benchmarks)."""
    chosen = name or settings.backend
    if chosen == "embedded":
        from keyart.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(settings.warehouse)
    if chosen == "druid":
        from keyart.backends.druid import DruidBackend

        return DruidBackend.from_settings(settings, lg_k=_warehouse_lg_k(settings))
    if chosen == "legacy":
        from keyart.backends.legacy import LegacyBackend

        return LegacyBackend(settings.warehouse)
    raise ConfigError(f"unknown backend {chosen!r}: expected embedded, druid or legacy")


def _warehouse_lg_k(settings: ApiSettings) -> int:
    from keyart.warehouse.layout import Warehouse

    try:
        version = Warehouse(settings.warehouse).current_or_none()
    except WarehouseError:
        version = None
    return 14 if version is None else version.lg_k


@dataclass
class AppState:
    """Everything the app's endpoints share: settings, backend, snapshots, cache, metrics."""

    settings: ApiSettings
    backend: Backend
    consumer: SnapshotConsumer
    cache: ResultCache
    executor: QueryExecutor
    metrics: ApiMetrics
    schema: KeyartSchema
    owns_backend: bool
    responses: ResponseCache | None = None
    memo: SnapshotMemo | None = None  # of the latest snapshot served
    persisted: PersistedQueries | None = None
    state_store: StateStore | None = None  # opened at startup
    keys: KeyStore | None = None
    rollout: Rollout | None = None  # backend pool, routing rules, shadow traffic

    def snapshot(self) -> tuple[Snapshot | None, str | None]:
        """The snapshot to serve now, or None with the reason."""
        try:
            return self.consumer.current(), None
        except SnapshotError as exc:
            return None, str(exc)

    def memo_of(self, snapshot: Snapshot) -> SnapshotMemo:
        """The shared memo of `snapshot`; a new snapshot starts a new one (requests still
        reading the previous snapshot keep theirs)."""
        memo = self.memo
        if memo is None or memo.snapshot is not snapshot:
            memo = self.memo = SnapshotMemo(snapshot)
        return memo


class KeyartGraphQL(GraphQL[RequestContext, None]):
    """Strawberry's ASGI app with a per-request keyart context (one snapshot, fresh loaders)."""

    def __init__(self, state: AppState) -> None:
        super().__init__(
            state.schema,
            graphql_ide="graphiql" if state.settings.graphiql else None,
            allow_queries_via_get=True,
        )
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request; a POSTed operation already answered completely over the same
        data is sent from the response cache without executing it again."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self._respond(scope, receive)
        except PersistedQueryRefusal as exc:
            response = error_response(
                exc.status,
                exc.code,
                exc.message,
                request_id=scope.get(REQUEST_ID),
                headers=exc.headers,
            )
        await response(scope, receive, send)

    async def _respond(self, scope: Scope, receive: Receive) -> Response:
        responses = self.state.responses
        request = Request(scope, receive)
        if responses is None or scope.get("method") != "POST":
            try:
                return await self.run(request)
            except HTTPException as exc:
                return PlainTextResponse(exc.reason, status_code=exc.status_code)
        ctx = await self.get_context(request, Response())
        key = None
        if ctx.snapshot_or_none is not None:
            try:
                payload = orjson.loads(await request.body())  # Starlette keeps the body
            except ValueError:
                payload = None
            if isinstance(payload, dict):
                pq_id = persisted_id(payload)
                if pq_id is not None and self.state.persisted is not None:
                    # registers (or refuses) a persisted query even when the answer is cached
                    extensions = payload.get("extensions")
                    query = payload.get("query")
                    self.state.persisted.resolve(
                        query if isinstance(query, str) else None,
                        extensions if isinstance(extensions, dict) else None,
                    )
                key = responses.key(
                    payload.get("query") or (None if pq_id is None else f"persisted:{pq_id}"),
                    payload.get("variables"),
                    payload.get("operationName"),
                    data_version(ctx.snapshot_or_none) + _routing_suffix(self.state, scope),
                )
        cached = None if key is None else responses.get(key)
        if cached is not None:
            self.state.metrics.response_cache_hits.inc()
            return Response(cached, media_type="application/json")
        try:
            response = await self.run(request, context=ctx)
        except HTTPException as exc:
            return PlainTextResponse(exc.reason, status_code=exc.status_code)
        if (
            key is not None
            and ctx.extras.get("complete")
            and not ctx.extras.get("uncacheable")
            and type(response) is Response
        ):
            responses.put(key, bytes(response.body))
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        # a GET naming a persisted query is an operation, not a browser opening GraphiQL
        return bool(
            super().should_render_graphql_ide(request)
            and request.query_params.get("extensions") is None
        )

    async def parse_http_body(self, request: Any) -> Any:
        """The request's operation, with persisted-query ids turned into query texts."""
        data = await super().parse_http_body(request)
        persisted = self.state.persisted
        if persisted is None or isinstance(data, list):
            return data
        query = persisted.resolve(data.query, data.extensions)
        if query is not data.query:
            data.query = query
        return data

    def encode_json(self, data: object) -> bytes:
        """Responses are encoded with orjson: a 50-asset answer is ~3,000 values."""
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        # orjson.JSONDecodeError subclasses json.JSONDecodeError, which Strawberry maps to 400
        return orjson.loads(data)

    async def execute_single(
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: RequestContext,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        result = await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=root_value,
            request_data=request_data,
        )
        # only complete answers are kept: an error may be transient (backend down)
        context.extras["complete"] = not result.errors
        if context.loader.backends:
            # which stack(s) answered: routing may send parts of one answer to different ones
            result.extensions = {
                **(result.extensions or {}),
                "backends": sorted(context.loader.backends),
            }
        return result

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        state = self.state
        snapshot, problem = state.snapshot()
        version = NO_DATA_VERSION if snapshot is None else data_version(snapshot)
        route = None
        rollout = state.rollout
        if rollout is not None and snapshot is not None and not rollout.router.trivial:
            scope = getattr(request, "scope", None) or {}
            route = request_route(rollout.router, snapshot, scope.get(KEY_NAME))
        return RequestContext(
            settings=state.settings,
            loader=MetricLoader(state.executor, version, route),
            snapshot_or_none=snapshot,
            snapshot_problem=problem,
            metrics=state.metrics,
            request=request,
            response=response,
            memo=None if snapshot is None else state.memo_of(snapshot),
            keys=state.keys,
            rollout=state.rollout,
        )


def create_app(
    settings: ApiSettings,
    *,
    backend: Backend | None = None,
    consumer: SnapshotConsumer | None = None,
    metrics: ApiMetrics | None = None,
    schema: KeyartSchema | None = None,
) -> Starlette:
    """The API app; builds the backend, snapshot consumer and schema from `settings` unless
    given (a given backend stays owned by the caller and is not closed at shutdown)."""
    metrics = metrics if metrics is not None else ApiMetrics()
    owns_backend = backend is None
    the_backend = backend if backend is not None else build_backend(settings)
    the_consumer = (
        consumer
        if consumer is not None
        else SnapshotConsumer(
            settings.snapshots, poll_interval_s=settings.snapshot_poll_s, pin=settings.snapshot_pin
        )
    )
    cache = ResultCache.from_settings(settings.cache_url, settings.cache_ttl_s, metrics)
    rollout = Rollout(
        settings,
        the_backend,
        lambda name: build_backend(settings, name),
        metrics,
        owns_primary=owns_backend,
    )
    state = AppState(
        settings=settings,
        backend=the_backend,
        consumer=the_consumer,
        cache=cache,
        executor=QueryExecutor(
            the_backend, cache, metrics, pool=rollout.pool, shadow=rollout.shadow
        ),
        metrics=metrics,
        schema=schema if schema is not None else build_schema(settings),
        owns_backend=owns_backend,
        responses=ResponseCache(ttl_s=settings.cache_ttl_s) if settings.cache_ttl_s > 0 else None,
        persisted=PersistedQueries(
            apq=settings.persisted_queries,
            cache_bytes=int(settings.persisted_query_cache_mb * 2**20),
            manifest=None if settings.safelist is None else Manifest.load(settings.safelist),
        ),
        rollout=rollout,
    )
    gate = AccessGate(
        KeyartGraphQL(state),
        verifier=None,  # set once the state store is open
        limiter=RateLimiter(settings.rate_limit, settings.cache_url),
        allow_anonymous=settings.allow_anonymous,
        metrics=metrics,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        url = state_url(settings.warehouse, settings.state_url)
        state.state_store = await asyncio.to_thread(StateStore.open, url)
        state.keys = KeyStore(state.state_store)
        gate.verifier = KeyVerifier(state.keys, settings.key_cache_s)
        await rollout.start(state.state_store)
        try:
            await asyncio.to_thread(state.consumer.load)
        except SnapshotError as exc:
            log.warning("starting without a snapshot (/readyz answers 503): %s", exc)
        state.consumer.start()
        try:
            yield
        finally:
            # every step runs even when an earlier one fails: a backend left open keeps
            # native threads alive that abort the interpreter at exit
            try:
                await _closing(state.consumer.aclose())
                await _closing(state.cache.close())
            finally:
                # closes the server's backend when it owns it, and those routing opened
                await _closing(rollout.aclose())
                await asyncio.to_thread(state.state_store.close)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        reasons: list[str] = []
        snapshot, problem = state.snapshot()
        if snapshot is None:
            reasons.append(f"snapshot: {problem}")
        backend_name = getattr(state.backend, "name", "backend")
        try:
            await asyncio.wait_for(state.backend.ping(), timeout=PING_TIMEOUT_S)
        except TimeoutError:
            reasons.append(f"backend {backend_name}: no answer to ping within {PING_TIMEOUT_S}s")
        except KeyartError as exc:
            reasons.append(f"backend {backend_name}: {exc}")
        except Exception as exc:
            log.exception("backend ping failed unexpectedly")
            reasons.append(f"backend {backend_name}: {type(exc).__name__}")
        serving = None
        if isinstance(state.backend, Warming):
            serving = state.backend.serving_state()
            if serving != "ready" and state.settings.ready_requires_serving_copy:
                reasons.append(f"backend {backend_name}: {SERVING_NOT_READY[serving]}")
        body = {
            "status": "not ready" if reasons else "ready",
            "snapshot": None if snapshot is None else snapshot.version,
            "warehouse": None if snapshot is None else snapshot.warehouse_version,
            "backend": backend_name,
            "serving_copy": serving,
            "reasons": reasons,
        }
        return JSONResponse(body, status_code=503 if reasons else 200)

    async def prometheus(_request: Request) -> Response:
        snapshot, _ = state.snapshot()
        age = state.consumer.age_seconds()
        metrics.set_snapshot(
            None if snapshot is None else snapshot.version,
            None if snapshot is None else snapshot.warehouse_version,
            0.0 if age is None else age,
        )
        return Response(metrics.render(), media_type=metrics.content_type)

    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["*"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=[
            Route("/graphql", gate),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.keyart = state
    return app


def _routing_suffix(state: AppState, scope: Scope) -> str:
    """What a stored whole answer depends on besides the data when routing rules are in
    force: the rule set and the caller's key (rules may route keys differently)."""
    rollout = state.rollout
    if rollout is None or rollout.router.trivial:
        return ""
    return f"|routing={rollout.router.version}|key={scope.get(KEY_NAME)}"


async def _closing(step: Awaitable[None]) -> None:
    """Await one shutdown step; a failure (or a cancelled helper task) is logged, not
    raised, unless the shutdown itself is being cancelled."""
    try:
        await step
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.warning("a background task was cancelled during shutdown")
    except Exception:
        log.exception("shutdown step failed")


def settings_from_args(args: argparse.Namespace) -> ApiSettings:
    """ApiSettings from KEYART_* variables, overridden by `keyart serve` flags."""
    return ApiSettings.from_env().with_overrides(
        warehouse=getattr(args, "warehouse", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        backend=getattr(args, "backend", None),
        druid_url=getattr(args, "druid_url", None),
        cache_url=getattr(args, "cache_url", None),
        snapshot_pin=getattr(args, "snapshot_pin", None),
        state_url=getattr(args, "state_url", None),
        allow_anonymous=getattr(args, "allow_anonymous", None),
        rate_limit=getattr(args, "rate_limit", None),
        introspection=getattr(args, "introspection", None),
        graphiql=getattr(args, "graphiql", None),
        persisted_queries=getattr(args, "persisted_queries", None),
        safelist=getattr(args, "safelist", None),
    )


def serve(settings: ApiSettings) -> None:
    """Run the API with uvicorn (one worker) until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        lifespan="on",
    )


def main(args: argparse.Namespace) -> int:
    """`keyart serve`: serve the GraphQL API (GraphiQL at /graphql)."""
    serve(settings_from_args(args))
    return 0


__all__ = ["AppState", "KeyartGraphQL", "build_backend", "create_app", "main", "serve"]
