"""Every request needs the token of this start; every response carries strict headers.

The token (``secrets.token_urlsafe``) is in the link ``itb app`` prints or opens. The first
request with ``?token=`` gets it as a cookie (HttpOnly, SameSite=Strict: another site's page
cannot send it) and is redirected to the same address without it, so the token does not stay
in the address bar or the history. A request with neither the token nor the cookie is refused
(403). Written as plain ASGI middleware so that static files and downloads are guarded too.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The app's pages: scripts, styles and images from the app only; no inline script.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'self'")
#: Served report files: shown, never run (the reports hold no script; sandbox makes sure).
FILE_CSP = ("default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "font-src 'self' data:; frame-ancestors 'self'; sandbox")

_REFUSED = ("Refused: this address needs the link that `itb app` printed when it started "
            "(it holds a token that changes at every start). Open that link again.")


def cookie_name(token: str) -> str:
    """The cookie of one start (two apps on two ports do not overwrite each other's)."""
    return "itb_app_" + hashlib.sha256(token.encode()).hexdigest()[:10]


class TokenGuard:
    """ASGI middleware: the token check and the security headers."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_name(token)

    def _good(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(value.encode(), self.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.query_params.get("token")
        if given is not None and self._good(given):
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="strict",
                                path="/")
            await _with_headers(response, scope, receive, send)
            return
        if not self._good(request.cookies.get(self.cookie)):
            await _with_headers(PlainTextResponse(_REFUSED, status_code=403), scope, receive, send)
            return
        await self.app(scope, receive, _header_sender(send))


async def _with_headers(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    await app(scope, receive, _header_sender(send))


def _header_sender(send: Send) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            extra = [(b"content-security-policy", PAGE_CSP.encode()),
                     (b"x-content-type-options", b"nosniff"),
                     (b"referrer-policy", b"no-referrer"),
                     (b"cache-control", b"no-store")]
            headers += [(k, v) for k, v in extra if k not in names]
            message = {**message, "headers": headers}
        await send(message)
    return sender
