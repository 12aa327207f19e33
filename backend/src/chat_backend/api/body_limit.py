"""The request body size limit (API_MAX_BODY_BYTES): 413 before the body is read when its
declared length is too large, and as soon as a body sent in chunks grows past it.

FastAPI's own `max_body_size` would do, but it replaces the answer to a too-long declared
length with a plain-text body; this keeps every error in the shared JSON shape.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat_backend.api.errors import payload_too_large


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await payload_too_large(self.max_bytes)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException is what FastAPI lets through from reading a body; the
                # error handlers turn this one into payload_too_large.
                raise HTTPException(413)
            return message

        await self.app(scope, receive_within_limit, send)
