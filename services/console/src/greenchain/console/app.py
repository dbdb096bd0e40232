"""The console's ASGI application (Starlette): routes, sign-in, security headers, errors."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import grpc
import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from greenchain.common.auth import ADMIN, Principal, TokenStore, load_store
from greenchain.common.config import Settings
from greenchain.common.grades import active, grade_label, level_label, tier_label
from greenchain.console.ledger import Ledger
from greenchain.console.pages import (
    GRADE_FILTERS,
    PAGE_SIZE,
    TIER_FILTERS,
    TableQuery,
    coverage_by_month,
    designation_text,
    history_svgs,
    supplier_table,
)
from greenchain.console.sessions import (
    IDLE_SECONDS,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    Session,
    Sessions,
    same_origin,
    same_token,
    set_cookie,
)
from greenchain.reports.alerts import alerts_for, chain_alerts, newest_month
from greenchain.reports.charts import goal_bar_svg, line_chart_svg, trend_chart
from greenchain.reports.labels import (
    category_label,
    month_index,
    number,
    period,
    share,
    zero_carbon_label,
)
from greenchain.reports.labels import (
    money_latin as money,
)
from greenchain.reports.pdf import chain_summary_pdf
from greenchain.reports.plan import improvement_plan
from greenchain.reports.workbook import chain_workbook

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Every HTTP response gets a strict CSP (no inline script or style, nothing from another
    origin: the console works air-gapped) and no-store for pages with data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += SECURITY_HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class Console:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ledger = Ledger(settings)
        self.tokens: TokenStore | None = load_store(settings.tokens_file)
        self.sessions = Sessions()
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("greenchain.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        env.globals.update(
            tier_label=tier_label,
            grade_label=grade_label,
            level_label=level_label,
            money=money,
            share=share,
            number=number,
            period=period,
            category_label=category_label,
            zero_carbon_label=zero_carbon_label,
            active=active,
            urlencode=urlencode,
            auth_off=self.tokens is None,
        )
        self.templates = Jinja2Templates(env=env)

    # helpers -------------------------------------------------------------------------------

    def page(
        self,
        request: Request,
        name: str,
        session: Session | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        response: HTMLResponse = self.templates.TemplateResponse(
            request,
            name,
            {
                "session": session,
                "principal": session.principal if session else None,
                "flash": session.pop_flash() if session else [],
                **context,
            },
            status_code=status_code,
        )
        return response

    def signed_in(self, request: Request) -> Session:
        session = self.sessions.get(request)
        if session is None:
            raise HTTPException(401)
        return session

    def home_of(self, principal: Principal) -> str:
        if principal.kind == "chain":
            return f"/chains/{principal.id}"
        if principal.kind == "supplier":
            return f"/suppliers/{principal.id}"
        return "/chains"

    # routes --------------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(self, request: Request) -> Response:
        serving = await self.ledger.serving()
        return PlainTextResponse(
            "ok" if serving else "ledger not serving", status_code=200 if serving else 503
        )

    async def home(self, request: Request) -> Response:
        session = self.signed_in(request)
        return RedirectResponse(self.home_of(session.principal), status_code=303)

    async def signin_form(self, request: Request, error: str = "", status: int = 200) -> Response:
        if error == "" and (session := self.sessions.get(request)) is not None:
            return RedirectResponse(self.home_of(session.principal), status_code=303)
        token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
        response = self.page(
            request,
            "signin.html",
            None,
            status_code=status,
            csrf=token,
            error=error,
            next=request.query_params.get("next", ""),
        )
        set_cookie(response, request, SIGNIN_COOKIE, token, 3600, path="/signin")
        return response

    async def signin(self, request: Request) -> Response:
        form = await request.form()
        if not same_origin(request) or not same_token(
            request.cookies.get(SIGNIN_COOKIE, ""), form.get("csrf")
        ):
            log.warning(
                "sign-in refused: origin %r, form token %s",
                request.headers.get("origin"),
                "missing" if not form.get("csrf") else "not the cookie's",
            )
            return await self.signin_form(request, "the form expired: sign in again", 403)
        token = str(form.get("token", "")).strip()
        if self.tokens is None:  # auth is off (local development): everyone is admin
            principal: Principal | None = ADMIN
        else:
            principal = self.tokens.principal(token) if token else None
        if principal is None:
            return await self.signin_form(request, "unknown token", 401)
        try:  # the ledger must accept the token too (it may use another tokens file)
            if principal.kind == "chain":
                await self.ledger.progress(token, principal.id)
            elif principal.kind == "supplier":
                try:
                    await self.ledger.rating(token, principal.id)
                except grpc.aio.AioRpcError as err:
                    if err.code() != grpc.StatusCode.NOT_FOUND:
                        raise
            else:
                await self.ledger.probe_list(token)
        except grpc.aio.AioRpcError as err:
            if err.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                return await self.signin_form(request, "the ledger does not accept this token", 401)
            return await self.signin_form(
                request, f"the ledger is unavailable ({err.code().name}): try again", 503
            )
        sid, _ = self.sessions.create(principal, token)
        target = str(form.get("next", ""))
        if not target.startswith("/") or target.startswith("//"):
            target = self.home_of(principal)
        response = RedirectResponse(target, status_code=303)
        set_cookie(response, request, SESSION_COOKIE, sid, IDLE_SECONDS)
        response.delete_cookie(SIGNIN_COOKIE, path="/signin")
        log.info("signed in: %s", principal)
        return response

    async def signout(self, request: Request) -> Response:
        session = self.signed_in(request)
        form = await request.form()
        if not same_origin(request) or not same_token(session.csrf, form.get("csrf")):
            raise HTTPException(403, "the form expired: reload the page")
        self.sessions.drop(request)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def chains(self, request: Request) -> Response:
        session = self.signed_in(request)
        if not session.principal.is_admin:
            return RedirectResponse(self.home_of(session.principal), status_code=303)
        ratings = await self.ledger.ratings(session.token, "")
        counts: dict[str, int] = {}
        for r in ratings:
            for chain in r.chain_ids:
                counts[chain] = counts.get(chain, 0) + 1
        return self.page(request, "chains.html", session, chains=sorted(counts.items()))

    async def find_supplier(self, request: Request) -> Response:
        self.signed_in(request)
        sid = request.query_params.get("id", "").strip()
        if not sid or "/" in sid:
            raise HTTPException(404, "no such supplier")
        return RedirectResponse(f"/suppliers/{sid}", status_code=303)

    async def chain(self, request: Request) -> Response:
        session = self.signed_in(request)
        chain_id = request.path_params["chain_id"]
        progress, ratings = await asyncio.gather(
            self.ledger.progress(session.token, chain_id),
            self.ledger.ratings(session.token, chain_id),
        )
        query = TableQuery.parse(request.query_params)
        table = supplier_table(ratings, query)
        alerts = chain_alerts(ratings, self.settings.console_stale_months)
        return self.page(
            request,
            "chain.html",
            session,
            chain_id=chain_id,
            progress=progress,
            goal_bar=goal_bar_svg(
                progress.designated_share,
                progress.forecast_share,
                progress.target_share,
                progress.target_year,
            ),
            trend=line_chart_svg(trend_chart(progress)) if progress.trend else "",
            table=table,
            query=query,
            tiers=TIER_FILTERS,
            grades=GRADE_FILTERS,
            page_size=PAGE_SIZE,
            alerts=alerts[:50],
            alert_count=len(alerts),
            stale_months=self.settings.console_stale_months,
        )

    async def alerts(self, request: Request) -> Response:
        """Server-sent events: the alerts of each rating the ledger records from now on."""
        session = self.signed_in(request)
        chain_id = request.path_params["chain_id"]
        ratings = await self.ledger.ratings(session.token, chain_id)  # access check, reference
        reference = newest_month(ratings)
        stale = self.settings.console_stale_months

        async def events() -> AsyncIterator[str]:
            nonlocal reference
            call = self.ledger.watch(session.token, chain_id)
            iterator = call.__aiter__()
            yield "retry: 5000\n\n"
            try:
                while True:
                    try:
                        entry = await asyncio.wait_for(anext(iterator), timeout=15)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    except StopAsyncIteration:
                        return
                    rating = entry.rating
                    if reference is None or (
                        rating.window_end.year
                        and month_index(rating.window_end) > month_index(reference)
                    ):
                        reference = rating.window_end
                    status = {
                        "supplier_id": rating.supplier_id,
                        "total_score": round(rating.total_score, 1),
                        "tier": tier_label(rating.readiness_tier),
                    }
                    yield f"event: rating\ndata: {json.dumps(status)}\n\n"
                    for alert in alerts_for(rating, reference, stale):
                        yield f"event: alert\ndata: {json.dumps(alert.as_dict())}\n\n"
            except grpc.aio.AioRpcError as err:
                yield f"event: end\ndata: {json.dumps(err.code().name)}\n\n"
            finally:
                cancel = getattr(call, "cancel", None)
                if cancel is not None:
                    cancel()

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},
        )

    async def report(self, request: Request) -> Response:
        session = self.signed_in(request)
        chain_id = request.path_params["chain_id"]
        fmt = request.path_params["fmt"]
        progress, ratings = await asyncio.gather(
            self.ledger.progress(session.token, chain_id),
            self.ledger.ratings(session.token, chain_id),
        )
        if fmt == "xlsx":
            data = await asyncio.to_thread(chain_workbook, progress, ratings)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        elif fmt == "pdf":
            data = await asyncio.to_thread(chain_summary_pdf, progress, ratings)
            media = "application/pdf"
        else:
            raise HTTPException(404)
        name = f"greenchain-{chain_id}-report.{fmt}"
        return Response(
            data,
            media_type=media,
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    async def supplier(self, request: Request) -> Response:
        session = self.signed_in(request)
        supplier_id = request.path_params["supplier_id"]
        entry, entries = await asyncio.gather(
            self.ledger.rating(session.token, supplier_id),
            self.ledger.history(session.token, supplier_id),
        )
        rating = entry.rating
        chart, sparks = history_svgs(entries, rating)
        return self.page(
            request,
            "supplier.html",
            session,
            entry=entry,
            rating=rating,
            plan=improvement_plan(rating),
            history_chart=chart if len(entries) > 1 else "",
            sparks=sparks,
            coverage=coverage_by_month(entries),
            entries=entries,
            designation=designation_text(rating),
        )

    async def verify(self, request: Request) -> Response:
        session = self.signed_in(request)
        supplier_id = request.path_params["supplier_id"]
        form = await request.form()
        if not same_origin(request) or not same_token(session.csrf, form.get("csrf")):
            raise HTTPException(403, "the form expired: reload the page")
        result = await self.ledger.verify(session.token, supplier_id)
        if result.intact:
            session.flash.append(
                (
                    "ok",
                    f"hash chain intact: {result.entries} entries, head "
                    f"{result.head_hash.hex()[:16]}…",
                )
            )
        else:
            session.flash.append(
                (
                    "error",
                    f"hash chain BROKEN at entry {result.first_broken_sequence}: {result.detail}",
                )
            )
        return RedirectResponse(f"/suppliers/{supplier_id}#verify", status_code=303)

    # errors --------------------------------------------------------------------------------

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 401:
            if request.method == "GET":
                query = urlencode({"next": request.url.path})
                return RedirectResponse(f"/signin?{query}", status_code=303)
            return PlainTextResponse("sign in first", status_code=401)
        return self.page(
            request,
            "error.html",
            self.sessions.get(request),
            status_code=exc.status_code,
            status=exc.status_code,
            message=exc.detail,
        )

    async def rpc_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, grpc.aio.AioRpcError)
        session = self.sessions.get(request)
        code = exc.code()
        if code == grpc.StatusCode.UNAUTHENTICATED:  # the token was withdrawn
            self.sessions.drop(request)
            return RedirectResponse("/signin", status_code=303)
        status, message = {
            grpc.StatusCode.PERMISSION_DENIED: (403, "not yours to see: " + (exc.details() or "")),
            grpc.StatusCode.NOT_FOUND: (404, exc.details() or "not found"),
            grpc.StatusCode.INVALID_ARGUMENT: (400, exc.details() or "invalid request"),
        }.get(code, (503, f"the ledger is unavailable ({code.name}): try again shortly"))
        return self.page(
            request, "error.html", session, status_code=status, status=status, message=message
        )


def create_app(settings: Settings) -> Starlette:
    console = Console(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await console.ledger.close()

    def get(path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
        return Route(path, endpoint, methods=["GET"])

    routes = [
        get("/healthz", console.healthz),
        get("/readyz", console.readyz),
        get("/", console.home),
        get("/signin", console.signin_form),
        Route("/signin", console.signin, methods=["POST"]),
        Route("/signout", console.signout, methods=["POST"]),
        get("/chains", console.chains),
        get("/chains/{chain_id}", console.chain),
        get("/chains/{chain_id}/alerts", console.alerts),
        get("/chains/{chain_id}/report.{fmt}", console.report),
        get("/suppliers", console.find_supplier),
        get("/suppliers/{supplier_id}", console.supplier),
        Route("/suppliers/{supplier_id}/verify", console.verify, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("greenchain.console", "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: console.http_error,
            grpc.aio.AioRpcError: console.rpc_error,
        },
    )
    app.add_middleware(SecurityHeaders)
    return app
