"""The web console served by the gateway under ``/app/`` (see pages), and the self-hosted API docs.

Every script, style sheet and image is served by the product itself: many users are in mainland China or
offline, where a CDN is slow or unreachable.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from ledger_gateway.console import alert_pages, import_page
from ledger_gateway.console.pages import Answered, FormRefused, NeedsLogin, forbidden, login_redirect, router

STATIC = Path(__file__).resolve().parents[1] / "static"


def install(app: FastAPI) -> None:
    """Mount the console, its assets and ``/docs`` (Swagger UI from this product's own files)."""
    app.include_router(router)
    app.include_router(alert_pages.router)
    app.include_router(import_page.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(NeedsLogin)
    async def _login(request: Request, exc: NeedsLogin) -> Response:
        return login_redirect(request)

    @app.exception_handler(Answered)
    async def _answered(request: Request, exc: Answered) -> Response:
        return exc.response

    @app.exception_handler(FormRefused)
    async def _refused(request: Request, exc: FormRefused) -> Response:
        return forbidden(request, "表单令牌无效或来自其他网站，未作任何更改。",
                         "Missing or wrong form token, or a form from another site: nothing was changed.")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} – Swagger UI",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None})
