"""The HTTP server: Starlette app with /graphql (GraphiQL in a browser), /healthz, /readyz,
/metrics and the GraphiQL assets; `keyart serve`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from keyart import gc_tuning
from keyart.access.gate import KEY_NAME, KEY_SCOPE, AccessGate
from keyart.access.persisted import (
    Manifest,
    PersistedQueries,
    PersistedQueryRefusal,
    persisted_id,
)
from keyart.access.ratelimit import RateLimiter
from keyart.access.verifier import KeyVerifier
from keyart.access_log import OPERATION_KEY, AccessLog, parse_level
from keyart.admission import Admission
from keyart.alerts.service import AlertService
from keyart.backends.base import Backend, ServingState, Warming
from keyart.bodies import check_query_params, json_request, read_body
from keyart.cache import ResponseCache, ResultCache
from keyart.config import ApiSettings, validate_limits
from keyart.errors import (
    BadRequest,
    ConfigError,
    KeyartError,
    Overloaded,
    PayloadTooLarge,
    QueryTimeout,
    ResponseTooLarge,
    SnapshotError,
    WarehouseError,
)
from keyart.http_errors import error_body, error_response, keyart_error_response

# `keyart serve`'s start, re-exported: it lives apart so that a supervisor stays small
from keyart.launch import (
    DATA_POLL_S,
    DATA_WAIT_LOG_S,
    await_data,
    check_port_free,
    configure_logging,
    serve,
)
from keyart.loaders import MetricLoader, QueryExecutor
from keyart.media import GRAPHQL_RESPONSE_MEDIA, wants_graphql_response
from keyart.request_id import RequestIdMiddleware, request_id_of
from keyart.resolvers.context import RequestContext, SnapshotMemo, data_version
from keyart.rollout.router import request_route
from keyart.rollout.runtime import Rollout
from keyart.schema import KeyartSchema, build_schema
from keyart.schema.alerts import WS_ACTIVE
from keyart.schema.errors import coded_error
from keyart.state import KeyStore, StateStore, state_url
from keyart.store.consumer import SnapshotConsumer
from keyart.store.mapped import MAPPED_DIR
from keyart.store.model import DataRange, Snapshot
from keyart.telemetry import ApiMetrics
from keyart.web import dashboard
from keyart.web.artwork import MEDIA_PATH, placeholder_svg, valid_asset_id
from keyart.web.example import example_query
from keyart.web.graphiql import ASSETS_DIR, ASSETS_PATH, graphiql_page

log = logging.getLogger(__name__)

WS_INIT_TIMEOUT_S = 10.0  # a websocket must send connection_init within this
NEED_KEY_WS = 'an API key is required: connection_init payload {"Authorization": "Bearer <key>"}'

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

        return EmbeddedBackend(
            settings.warehouse, threads=_duckdb_threads(settings), workers=settings.backend_threads
        )
    if chosen == "druid":
        from keyart.backends.druid import DruidBackend

        return DruidBackend.from_settings(settings, lg_k=_warehouse_lg_k(settings))
    if chosen == "legacy":
        from keyart.backends.legacy import LegacyBackend

        return LegacyBackend(
            settings.warehouse, threads=_duckdb_threads(settings), workers=settings.backend_threads
        )
    raise ConfigError(f"unknown backend {chosen!r}: expected embedded, druid or legacy")


def _duckdb_threads(settings: ApiSettings) -> int | None:
    """DuckDB's threads per worker: the cores shared out among the workers, so that N
    workers do not each start a thread per core (None: DuckDB's default, one per core)."""
    if settings.workers <= 1:
        return None
    return max(1, (os.cpu_count() or 1) // settings.workers)


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
    admission: Admission = field(default_factory=lambda: Admission.from_settings(ApiSettings()))
    rollout: Rollout | None = None  # backend pool, routing rules, shadow traffic
    alerts: AlertService | None = None  # opened with the state store
    verifier: KeyVerifier | None = None  # API keys, for websocket connection_init

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


# the JSON body of the request being answered and its object, parsed and checked once by
# KeyartGraphQL._answer and handed to Strawberry's parse_json of the same request
_PARSED_BODY: ContextVar[tuple[bytes, dict[str, Any]] | None] = ContextVar(
    "keyart_parsed_body", default=None
)


class KeyartGraphQL(GraphQL[RequestContext, None]):
    """Strawberry's ASGI app with a per-request keyart context (one snapshot, fresh loaders)."""

    def __init__(self, state: AppState) -> None:
        super().__init__(
            state.schema,
            graphql_ide="graphiql" if state.settings.graphiql else None,
            allow_queries_via_get=True,
            max_subscriptions_per_connection=state.settings.ws_max_subscriptions,
            connection_init_wait_timeout=timedelta(seconds=WS_INIT_TIMEOUT_S),
        )
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request within the limits of the settings: body size, JSON shape,
        admission; a POSTed operation already answered completely over the same data is
        sent from the response cache without executing it again."""
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        rid = request_id_of(scope)
        graphql_media = wants_graphql_response(request.headers.get("accept", ""))
        try:
            response = await self._answer(request, rid, graphql_media)
        except PersistedQueryRefusal as exc:
            response = error_response(
                exc.status, exc.code, exc.message, request_id=rid, headers=exc.headers
            )
        except (BadRequest, PayloadTooLarge, Overloaded) as exc:
            self.state.metrics.refusals.labels(exc.code).inc()
            log.info("request %s refused: %s %s", rid, exc.code, exc)
            response = keyart_error_response(exc, request_id=rid)
        if graphql_media and response.media_type == "application/json":
            response.headers["content-type"] = GRAPHQL_RESPONSE_MEDIA
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the package's vendored assets, opened on the example query over
        the served data's days."""
        snapshot, _ = self.state.snapshot()
        covered = None if snapshot is None else DataRange.of(snapshot)
        root = request.scope.get("root_path", "")
        return HTMLResponse(graphiql_page(example_query(covered), f"{root}{ASSETS_PATH}"))

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A websocket connection, closed (4408) once it has had no active subscription
        for ws_idle_timeout_s: an idle connection must not hold a slot forever."""
        loop = asyncio.get_running_loop()
        active = scope.setdefault(WS_ACTIVE, [0, loop.time()])
        idle_s = self.state.settings.ws_idle_timeout_s
        serving = asyncio.ensure_future(super().__call__(scope, receive, send))
        try:
            while not serving.done():
                await asyncio.wait({serving}, timeout=min(1.0, idle_s))
                if not serving.done() and active[0] == 0 and loop.time() - active[1] > idle_s:
                    with contextlib.suppress(Exception):
                        await send({"type": "websocket.close", "code": 4408, "reason": "idle"})
                    serving.cancel()
        finally:
            if not serving.done():
                serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving

    async def on_ws_connect(self, context: RequestContext) -> dict[str, object] | None:
        """Authenticate a websocket by its connection_init payload
        {"Authorization": "Bearer KEY"} (or its upgrade request's header, checked by the
        gate); refused (4403) without a valid key unless anonymous reads are allowed."""
        scope = context.request.scope
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if header is None:
            if scope.get(KEY_SCOPE) is None and not self.state.settings.allow_anonymous:
                raise ConnectionRejectionError({"message": NEED_KEY_WS})
            scope.setdefault(KEY_SCOPE, "read")
            return None
        scheme, _, token = str(header).partition(" ")
        verifier = self.state.verifier
        if scheme.lower() != "bearer" or not token.strip() or verifier is None:
            raise ConnectionRejectionError({"message": NEED_KEY_WS})
        key = await verifier.verify(token.strip())
        if key is None:
            raise ConnectionRejectionError({"message": "the API key is unknown or revoked"})
        scope[KEY_NAME] = key.name
        scope[KEY_SCOPE] = key.scope
        return None

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

    async def _answer(self, request: Request, rid: str, graphql_media: bool) -> Response:
        state = self.state
        settings = state.settings
        payload: dict[str, Any] | None = None
        if request.method == "POST":
            body = await read_body(request, settings.max_body_bytes)
            if "json" in request.headers.get("content-type", ""):
                payload = json_request(body)
        elif request.method == "GET":
            check_query_params(request, settings.max_body_bytes)
        ctx = await self.get_context(request, Response())
        media = GRAPHQL_RESPONSE_MEDIA if graphql_media else "application/json"
        responses = state.responses
        key = None
        if responses is not None and payload is not None and ctx.snapshot_or_none is not None:
            pq_id = persisted_id(payload)
            if pq_id is not None and state.persisted is not None:
                # registers (or refuses) a persisted query even when the answer is cached
                extensions = payload.get("extensions")
                query = payload.get("query")
                state.persisted.resolve(
                    query if isinstance(query, str) else None,
                    extensions if isinstance(extensions, dict) else None,
                )
            key = responses.key(
                payload.get("query") or (None if pq_id is None else f"persisted:{pq_id}"),
                payload.get("variables"),
                payload.get("operationName"),
                data_version(ctx.snapshot_or_none) + _routing_suffix(state, request.scope),
            )
        cached = None if key is None or responses is None else responses.get(key)
        if cached is not None:
            operation = None if payload is None else payload.get("operationName")
            if isinstance(operation, str):
                request.scope[OPERATION_KEY] = operation  # for the access log
            state.metrics.response_cache_hits.inc()
            return Response(cached, media_type=media)
        parsed = _PARSED_BODY.set(None if payload is None else (body, payload))
        try:
            async with state.admission.slot():
                response = await self.run(request, context=ctx)
        except HTTPException as exc:
            raise BadRequest(exc.reason, exc.status_code) from exc
        finally:
            _PARSED_BODY.reset(parsed)
        if type(response) is not Response:
            return response  # GraphiQL's page
        size = len(response.body)
        if size > settings.max_response_bytes:
            return self._too_large(ctx, rid, size, media)
        if (
            responses is not None
            and key is not None
            and ctx.extras.get("complete")
            and not ctx.extras.get("uncacheable")
        ):
            responses.put(key, bytes(response.body))
        if graphql_media:
            response.headers["content-type"] = GRAPHQL_RESPONSE_MEDIA
            if ctx.extras.get("request_error"):
                response.status_code = 400  # did not parse, validate or pass the limits
        return response

    def _too_large(self, ctx: RequestContext, rid: str, size: int, media: str) -> Response:
        """The answer instead of a response over the size cap: an error, never a cut body."""
        limit = self.state.settings.max_response_bytes
        exc = ResponseTooLarge(
            f"the response would be {size:,} bytes, over the limit of {limit:,}; "
            "ask for fewer items, a shorter window or a coarser granularity"
        )
        self.state.metrics.graphql_errors.labels(exc.code).inc()
        log.info("request %s: %s", rid, exc)
        body = {"data": None, **error_body(exc.code, str(exc), rid)}
        return Response(orjson.dumps(body), media_type=media)

    def encode_json(self, data: object) -> bytes:
        """Responses are encoded with orjson: a 50-asset answer is ~3,000 values."""
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        """The request's JSON object: the one `_answer` already parsed when `data` is that
        body (the body is parsed once, cached response or not), else parsed here."""
        parsed = _PARSED_BODY.get()
        if parsed is not None and parsed[0] is data:
            return parsed[1]
        return super().parse_json(data)

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
        deadline = self.state.settings.execution_timeout_s
        context.deadline = time.monotonic() + deadline
        try:
            # expiry cancels every resolver of the request, hence its backend work;
            # resolvers resumed after it end at once (RequestContext.check_deadline)
            async with asyncio.timeout(deadline) as timer:
                result = await super().execute_single(
                    request=request,
                    request_adapter=request_adapter,
                    sub_response=sub_response,
                    context=context,
                    root_value=root_value,
                    request_data=request_data,
                )
        except TimeoutError:
            if not timer.expired():
                raise
            return self._timed_out(context, deadline)
        if result.errors and any(isinstance(e.original_error, QueryTimeout) for e in result.errors):
            return self._timed_out(context, deadline)  # one error, not one per field
        # only complete answers are kept: an error may be transient (backend down)
        context.extras["complete"] = not result.errors
        # a request error (no parse, no validation, over a limit) answers HTTP 400 to
        # clients of application/graphql-response+json
        context.extras["request_error"] = (
            result.data is None
            and bool(result.errors)
            and all(e.path is None for e in result.errors or ())
        )
        if context.loader.backends:
            # which stack(s) answered: routing may send parts of one answer to different ones
            result.extensions = {
                **(result.extensions or {}),
                "backends": sorted(context.loader.backends),
            }
        return result

    def _timed_out(self, context: RequestContext, deadline: float) -> ExecutionResult:
        """The answer of an operation stopped at its deadline; its backend work stops."""
        context.loader.cancel()
        self.state.metrics.graphql_errors.labels(QueryTimeout.code).inc()
        log.info("request %s: execution stopped after %gs", context.request_id, deadline)
        timeout = QueryTimeout(
            f"the operation did not finish within {deadline:g}s and was stopped; ask for "
            "fewer items or a shorter window"
        )
        return ExecutionResult(data=None, errors=[coded_error(timeout)])

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Strawberry's response data, with the request id on every error."""
        response = await super().process_result(request, result)
        errors: Any = response.get("errors")
        if errors:
            rid = request_id_of(request.scope)
            for error in errors:
                error["extensions"] = {**(error.get("extensions") or {}), "requestId": rid}
        return response

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
            loader=MetricLoader(
                state.executor,
                version,
                None if snapshot is None else snapshot.warehouse_version,
                route,
            ),
            snapshot_or_none=snapshot,
            snapshot_problem=problem,
            metrics=state.metrics,
            request=request,
            response=response,
            memo=None if snapshot is None else state.memo_of(snapshot),
            keys=state.keys,
            request_id=request_id_of(request.scope),
            rollout=state.rollout,
            alerts=state.alerts,
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
    validate_limits(settings)
    # settings are checked before anything is built that would need closing
    access_level = parse_level(settings.access_log_level) if settings.access_log else None
    metrics = metrics if metrics is not None else ApiMetrics()
    owns_backend = backend is None
    the_backend = backend if backend is not None else build_backend(settings)
    the_consumer = (
        consumer
        if consumer is not None
        else SnapshotConsumer(
            settings.snapshots,
            poll_interval_s=settings.snapshot_poll_s,
            pin=settings.snapshot_pin,
            # mapped columns: every worker (and server) of the host shares one copy
            map_dir=settings.snapshots / MAPPED_DIR,
        )
    )
    metrics.watch_snapshots(the_consumer.stats)
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
        admission=Admission.from_settings(settings),
        rollout=rollout,
    )
    gate = AccessGate(
        KeyartGraphQL(state),
        verifier=None,  # set once the state store is open
        limiter=RateLimiter(settings.rate_limit, settings.cache_url),
        allow_anonymous=settings.allow_anonymous,
        metrics=metrics,
    )
    metrics.requests_inflight.set_function(lambda: state.admission.inflight)
    metrics.requests_queued.set_function(lambda: state.admission.queued)
    metrics.plain_field_execution.set(1 if state.schema.plain_fields else 0)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        url = state_url(settings.warehouse, settings.state_url)
        state.state_store = await asyncio.to_thread(StateStore.open, url)
        state.keys = KeyStore(state.state_store)
        gate.verifier = state.verifier = KeyVerifier(state.keys, settings.key_cache_s)
        await rollout.start(state.state_store)
        state.alerts = AlertService(state.state_store, settings, state.executor)
        try:
            await asyncio.to_thread(state.consumer.load)
        except SnapshotError as exc:
            log.warning("starting without a snapshot (/readyz answers 503): %s", exc)
        state.consumer.start()
        # the app and the snapshot are built: keep them out of every later collection
        unsettle_gc = gc_tuning.settle(settings.gc_threshold)
        worker = None
        if settings.alerts:
            worker = asyncio.create_task(state.alerts.run(lambda: state.snapshot()[0]))
        try:
            yield
        finally:
            # every step runs even when an earlier one fails: a backend left open keeps
            # native threads alive that abort the interpreter at exit
            try:
                if worker is not None:
                    worker.cancel()
                    await asyncio.wait({worker})
                await _closing(state.consumer.aclose())
                await _closing(state.cache.close())
            finally:
                # closes the server's backend when it owns it, and those routing opened
                await _closing(rollout.aclose())
                await asyncio.to_thread(state.state_store.close)
                unsettle_gc()

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

    async def home(request: Request) -> Response:
        if not dashboard.available():
            # a source checkout without a built bundle: the front door is GraphiQL
            return RedirectResponse(request.scope.get("root_path", "") + "/graphql")
        # the single-page app routes in the browser; every view's path gets its page
        return FileResponse(dashboard.INDEX, headers={"Cache-Control": "no-cache"})

    async def artwork(request: Request) -> Response:
        # drawn from the id alone (no lookup): answers the same whether the asset exists
        asset_id = request.path_params["asset_id"]
        if not valid_asset_id(asset_id):
            raise StarletteHTTPException(404, f"no artwork for {asset_id!r}")
        return Response(
            placeholder_svg(asset_id),
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    # outermost: every response, refusals and CORS answers included, carries the id
    middleware = [Middleware(RequestIdMiddleware)]
    if access_level is not None:
        # inside the request id (it logs it), outside everything else (it sees refusals)
        middleware.append(Middleware(AccessLog, level=access_level))
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
    routes: list[BaseRoute] = [
        Route("/graphql", gate),
        WebSocketRoute("/graphql", gate),  # subscriptions
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        *(Route(path, home, methods=["GET"]) for path in dashboard.PAGE_PATHS),
        Route(MEDIA_PATH + "/{asset_id}.svg", artwork, methods=["GET"]),
    ]
    if dashboard.available():
        routes.append(
            Mount(
                dashboard.ASSETS_PATH,
                StaticFiles(directory=dashboard.BUNDLE_DIR / "ui"),
                name="dashboard-assets",
            )
        )
    if settings.graphiql:
        routes.append(Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="graphiql-assets"))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={StarletteHTTPException: _http_error, Exception: _internal_error},
    )
    app.state.keyart = state
    return app


# codes of the HTTP errors Starlette answers itself (unknown path, method not allowed)
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors, GraphQL-shaped like every other error."""
    assert isinstance(exc, StarletteHTTPException)
    return error_response(
        exc.status_code,
        _HTTP_CODES.get(exc.status_code, "BAD_REQUEST"),
        str(exc.detail),
        request_id=request_id_of(request.scope),
        headers=exc.headers,
    )


async def _internal_error(request: Request, exc: Exception) -> Response:
    """An unexpected failure outside GraphQL execution: logged with the request id,
    answered without internals."""
    rid = request_id_of(request.scope)
    log.error("internal error in request %s", rid, exc_info=exc)
    return error_response(500, "INTERNAL", "Internal server error", request_id=rid)


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


__all__ = [
    "DATA_POLL_S",
    "DATA_WAIT_LOG_S",
    "AppState",
    "KeyartGraphQL",
    "await_data",
    "build_backend",
    "check_port_free",
    "configure_logging",
    "create_app",
    "serve",
]
