"""The request body's limits: its size (API_MAX_BODY_BYTES) and how long the client may take
to send it (API_BODY_TIMEOUT_MS).

- 413 before the body is read when its declared length is too large, and as soon as a body
  sent in chunks grows past it. FastAPI's own `max_body_size` would do, but it replaces the
  answer to a too-long declared length with a plain-text body; this keeps every error in the
  shared JSON shape.
- 408, and the connection closed, when the body has not all arrived within the timeout from
  the first read: a client that sends a byte now and then cannot hold a connection (and the
  request's memory) open for ever. uvicorn has no such timeout of its own.

A request without a body (no Content-Length above 0 and no Transfer-Encoding: HTTP/1.1 then
has none to read) goes straight on: it has nothing to limit, and most requests are reads.
"""

from __future__ import annotations

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chat_backend.api.errors import payload_too_large


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, has_body = body_framing(scope)
        if not has_body:
            await self.app(scope, receive, send)
            return
        if declared is not None and declared > self.max_bytes:
            await payload_too_large(self.max_bytes)(scope, receive, send)
            return
        received = 0
        deadline: float | None = None
        body_done = False

        async def receive_within_limits() -> Message:
            nonlocal received, deadline, body_done
            if body_done:  # later reads only wait for the client to go away
                return await receive()
            if deadline is None:
                deadline = anyio.current_time() + self.read_timeout_s
            with anyio.move_on_after(deadline - anyio.current_time()) as waiting:
                message = await receive()
            if waiting.cancelled_caught:
                # An HTTPException is what FastAPI lets through from reading a body; the
                # error handlers turn these into JSON answers.
                raise HTTPException(408)
            body_done = not message.get("more_body", False)
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413)
            return message

        await self.app(scope, receive_within_limits, send)


def body_framing(scope: Scope) -> tuple[int | None, bool]:
    """The body's declared length (None when the first Content-Length is missing or not a
    number), and whether the request has a body at all: in HTTP/1.1, only with a
    Content-Length above 0 or a Transfer-Encoding."""
    length: bytes | None = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length" and length is None:
            length = bytes(value)
        elif name == b"transfer-encoding":
            chunked = True
    declared = int(length) if length is not None and length.isdigit() else None
    return declared, chunked or (length is not None and declared != 0)
