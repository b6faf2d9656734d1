"""Uploads get a larger body limit than the rest of the API, and only on their one route."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from dropdesk.limits import BodySizeLimit

_UPLOAD = re.compile(r"^/api/v1/sessions/[^/]+/attachments$")
# Room for the multipart envelope around a file of the largest allowed size.
_ENVELOPE = 64 * 1024


class RequestBodyLimits:
    """ASGI middleware: the usual limit everywhere, max_upload_bytes on the upload route."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self.default = BodySizeLimit(app, max_bytes=max_bytes)
        self.upload = BodySizeLimit(app, max_bytes=max_upload_bytes + _ENVELOPE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _UPLOAD.match(scope.get("path", "")):
            await self.upload(scope, receive, send)
        else:
            await self.default(scope, receive, send)
