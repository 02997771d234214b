#!/usr/bin/env python3
"""Python `websockets` connecting to a server that refuses the handshake.

  py_ws_refused.py URL

Prints one JSON object: {"status": <HTTP status>, "error": <exception class>}
when the library could read the refusal, {"status": 0, "error": ...} when
it could not (an unparsable answer), {"status": 101} if it was accepted.
Exits 0 in every case: the caller judges the result.
"""
from __future__ import annotations

import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus


async def run(url: str) -> dict:
    try:
        async with connect(url, open_timeout=5, compression=None):
            return {"status": 101}
    except InvalidStatus as e:
        return {"status": e.response.status_code, "error": type(e).__name__}
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        return {"status": 0, "error": type(e).__name__, "detail": str(e)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(sys.argv[1]))))
