"""One connection of an AsyncClient, for the ``websockets`` idiom::

    async for conn in managedws.connect(url):
        await conn.send("subscribe")
        async for message in conn:
            ...

The outer loop runs its body once per connection (the first and every
reconnection); the inner one ends when that connection ends. Messages
belong to the connection they arrived on, in order.
"""
from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Any, AsyncIterator, Deque, List, Optional, Union

from ._errors import Closed
from ._messages import Message

if TYPE_CHECKING:  # pragma: no cover
    from ._asyncio import AsyncClient

__all__ = ["Connection"]


class Connection:
    """One connection of a managed client, from CONNECTED to its end."""

    def __init__(self, client: "AsyncClient", number: int) -> None:
        self.client = client
        #: 1 for the first connection, 2 after the first reconnect, ...
        self.number = number
        self._messages: Deque[Message] = collections.deque()
        self._waiters: List["asyncio.Future[None]"] = []
        self._ended = False
        self.end_reason = ""

    @property
    def open(self) -> bool:
        """False once this connection ended (its messages may still be read)."""
        return not self._ended

    def _push(self, msg: Message) -> None:
        self._messages.append(msg)
        self._wake()

    def _end(self, reason: str) -> None:
        if not self._ended:
            self._ended = True
            self.end_reason = reason
            self._wake()

    def _wake(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)

    async def send(self, message: Union[str, bytes, bytearray, memoryview]) -> None:
        """Sends through the client (queued if this connection is gone)."""
        await self.client.send(message)

    async def recv(self) -> Message:
        """The next message of this connection; Closed once it ended and all were read."""
        while True:
            if self._messages:
                self.client._consumed()
                return self._messages.popleft()
            if self._ended:
                raise Closed("connection %d ended: %s" % (self.number, self.end_reason))
            fut: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
            finally:
                self._waiters.remove(fut)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.recv()
        except Closed:
            raise StopAsyncIteration from None

    def __repr__(self) -> str:
        return "<managedws.Connection %d of %s%s>" % (
            self.number, self.client.url, "" if self.open else " ended")


async def iterate_connections(client: "AsyncClient") -> AsyncIterator[Connection]:
    """Yields each connection of ``client`` as it opens; ends when the client
    is CLOSED, raises Failed when it fails. Closes the client at the end."""
    try:
        client._per_connection = True
        client.connect()
        while True:
            conn = await client._next_connection()
            if conn is None:
                return
            yield conn
    finally:
        await asyncio.shield(client.close())


def ended(conn: Optional[Connection], reason: str) -> None:
    if conn is not None:
        conn._end(reason)


_ = Any  # keep typing import used under all checkers
