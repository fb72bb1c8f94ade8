"""A stand-in for Slack's Socket Mode WebSocket: it sends envelopes and waits for their acks."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

from aiohttp import WSMsgType, web


class FakeSocketMode:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._socket: web.WebSocketResponse | None = None
        self._connected = threading.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    def start(self) -> str:
        ready = threading.Event()

        async def link(request: web.Request) -> web.WebSocketResponse:
            socket = web.WebSocketResponse()
            await socket.prepare(request)
            self._socket = socket
            await socket.send_json(
                {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "ACONSOLE"}}
            )
            self._connected.set()
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                reply = json.loads(message.data)
                future = self._acks.pop(reply.get("envelope_id", ""), None)
                if future is not None and not future.done():
                    future.set_result(reply)
            return socket

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/link", link)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        return f"ws://127.0.0.1:{self.port}/link"

    def wait_connected(self, timeout: float = 20) -> None:
        if not self._connected.wait(timeout):
            raise TimeoutError("the bot never opened its Socket Mode connection")

    def send(self, kind: str, payload: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send one envelope and return the bot's acknowledgement of it."""

        async def exchange() -> dict[str, Any]:
            assert self._socket is not None
            envelope_id = str(uuid.uuid4())
            future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
            self._acks[envelope_id] = future
            await self._socket.send_json(
                {
                    "envelope_id": envelope_id,
                    "type": kind,
                    "payload": payload,
                    "accepts_response_payload": kind == "slash_commands",
                    "retry_attempt": 0,
                    "retry_reason": "",
                }
            )
            return await asyncio.wait_for(future, timeout)

        return asyncio.run_coroutine_threadsafe(exchange(), self._loop).result(timeout + 1)

    def stop(self) -> None:
        async def close() -> None:
            if self._socket is not None:
                await self._socket.close()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
