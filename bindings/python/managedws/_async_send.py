"""The sending side of the asyncio face (AsyncClient): backpressure by
waiting for room, batches, and one wake of the I/O thread per iteration of
the loop (the client is corked while the iteration's code runs)."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Iterable, Optional, Union

from ._errors import QueueFull, Timeout

if TYPE_CHECKING:
    from ._client import Client


class AsyncSending:
    """Mixed into AsyncClient, which sets ``_client``, ``_loop`` and ``_corked``."""

    _client: "Client"
    _loop: asyncio.AbstractEventLoop
    _corked: bool

    async def send(self, message: Union[str, bytes, bytearray, memoryview], *,
                   timeout: Optional[float] = None) -> int:
        """Sends ``str`` as text, bytes-like as binary; returns its send
        number (for acked()).

        The library queues the message and this returns at once -- unless
        the queue is full: then it waits until there is room (backpressure),
        up to ``timeout`` seconds (None: as long as it takes), and raises
        QueueFull after that. Closed once closed, Failed in FAILED. The
        library has no "room" event: the wait polls the queue's size, from
        every millisecond up to every 20.
        """
        delay, deadline = 0.001, None if timeout is None else self._loop.time() + timeout
        while True:
            try:
                return self.send_nowait(message)
            except QueueFull:
                if deadline is not None and self._loop.time() >= deadline:
                    raise
            await asyncio.sleep(delay if deadline is None else max(0.0, min(delay, deadline - self._loop.time())))
            delay = min(delay * 2, 0.02)

    async def drain(self, timeout: Optional[float] = None) -> None:
        """Waits until every message sent so far has been written (or
        discarded); Timeout after ``timeout`` seconds. Polls like send()."""
        delay, deadline = 0.001, None if timeout is None else self._loop.time() + timeout
        while self._client._cptr() is not None and self._client.stats().queue_messages > 0:
            if deadline is not None and self._loop.time() >= deadline:
                raise Timeout("%d messages still queued after %.3g s"
                              % (self._client.stats().queue_messages, timeout))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)

    async def send_many(self, messages: Iterable[Union[str, bytes, bytearray, memoryview]], *,
                        timeout: Optional[float] = None) -> int:
        """Sends each message in order with one call into the library (see
        Client.send_many); returns the send number of the last (0 for
        none). When the queue fills partway, waits for room as send() does
        and goes on with the rest; QueueFull after ``timeout`` seconds,
        with ``accepted`` counting what was sent.
        """
        rest = messages if isinstance(messages, (list, tuple)) else list(messages)
        done = 0
        delay, deadline = 0.001, None if timeout is None else self._loop.time() + timeout
        while True:
            try:
                return self._client.send_many(rest) if rest else 0
            except QueueFull as e:
                got = getattr(e, "accepted", 0)
                done += got
                rest = rest[got:]
                if deadline is not None and self._loop.time() >= deadline:
                    e.accepted = done  # type: ignore[attr-defined]
                    raise
            await asyncio.sleep(delay if deadline is None else max(0.0, min(delay, deadline - self._loop.time())))
            delay = min(delay * 2, 0.02)

    def send_nowait(self, message: Union[str, bytes, bytearray, memoryview]) -> int:
        """send() without the coroutine."""
        if not self._corked:
            # The sends of one loop iteration wake the I/O thread once (and
            # every 64th): corked now, uncorked at the next iteration.
            self._client.cork(True)
            self._corked = True
            self._loop.call_soon(self._uncork)
        return self._client.send(message)

    def _uncork(self) -> None:
        self._corked = False
        if self._client._cptr() is not None:
            self._client.cork(False)

