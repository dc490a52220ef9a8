"""Talking to the gateway over HTTP, as any other client would: URL, API key, problem documents."""

from __future__ import annotations

from typing import Any

import httpx
import typer
from ledger_kernel.settings import Settings

from ledger_cli.settings import CliSettings


def default_url() -> str:
    return f"http://127.0.0.1:{Settings.from_env().http_port}"


UrlOption = typer.Option(None, "--url", help="Gateway URL (default http://127.0.0.1:$LEDGER_HTTP_PORT).")
KeyOption = typer.Option(None, "--key", help="API key (default $LEDGER_API_KEY).")


class ApiError(Exception):
    """The gateway refused: carries the problem document (RFC 9457)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        super().__init__(describe(problem, status))


def describe(problem: dict[str, Any], status: int | None = None) -> str:
    """A problem in one line, English and Chinese where the gateway gave both."""
    parts = [str(problem.get("title") or f"HTTP {status}")]
    if problem.get("title_zh"):
        parts.append(str(problem["title_zh"]))
    if problem.get("detail"):
        parts.append(f"— {problem['detail']}")
    for err in problem.get("errors") or []:
        reason = " / ".join(str(err[k]) for k in ("reason_en", "reason_zh") if err.get(k))
        parts.append(f"[{err.get('field') or 'fact'}: {reason or err.get('code')}]")
    return " ".join(parts)


class Gateway:
    """A small synchronous client of the public API."""

    def __init__(self, url: str | None, key: str | None, *, timeout: float = 300.0) -> None:
        self.url = (url or default_url()).rstrip("/")
        self.key = key or CliSettings.from_env().revealed_api_key()
        if not self.key:
            raise typer.BadParameter("give an API key with --key or LEDGER_API_KEY "
                                     "(create one: ledger tenant create NAME) 请提供 API 密钥")
        self.http = httpx.Client(base_url=self.url, timeout=timeout,
                                 headers={"Authorization": f"Bearer {self.key}"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": f"HTTP {response.status_code}", "detail": response.text[:200]}
            raise ApiError(response.status_code, problem if isinstance(problem, dict) else {})
        return response.json()

    def _unreachable(self, exc: httpx.TransportError) -> ApiError:
        return ApiError(0, {"title": "Gateway unreachable", "title_zh": "无法连接网关",
                            "detail": f"{self.url}: {type(exc).__name__} — is `ledger up` running?"})

    def get(self, path: str, **params: Any) -> Any:
        try:
            response = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        return self._check(response)

    def pages(self, path: str, limit: int = 10_000, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list (up to ``limit``)."""
        items: list[dict[str, Any]] = []
        token = None
        while len(items) < limit:
            page = self.get(path, page_size=500, page_token=token, **params)
            items.extend(page.get("items", []))
            token = page.get("next_page_token")
            if not token:
                break
        return items[:limit]

    def post(self, path: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """A POST whose refusal raises ApiError; the response, for its headers too."""
        try:
            response = self.http.post(path, content=content, headers=headers)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        self._check(response)
        return response

    def post_batch(self, ndjson: bytes) -> dict[str, Any]:
        return self.post("/v1/facts:batch", content=ndjson, headers={"Content-Type": "application/x-ndjson"}).json()


def fail(exc: ApiError) -> typer.Exit:
    typer.secho(str(exc), err=True, fg="red")
    return typer.Exit(1)
