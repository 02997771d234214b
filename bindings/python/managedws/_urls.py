"""What is wrong with a URL the C library refused, said in words.

The C parser (src/core/url.c) only answers MWS_EINVAL; this mirrors its
rules to name the problem. It is consulted only after a refusal, so a rule
that drifts from C can only make a message vaguer, never accept a URL.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Optional

__all__ = ["url_problem"]

_HOST = re.compile(r"^[A-Za-z0-9._-]+$")


def url_problem(url: str) -> Optional[str]:
    """A sentence saying why ``url`` is not a valid ws:// or wss:// URL, or
    None when these rules find nothing (the refusal was about an option)."""
    bad = [c for c in url if ord(c) <= 0x20 or ord(c) >= 0x7F]
    if bad:
        return "URL contains %r: spaces, control characters and non-ASCII must be percent-encoded" % bad[0]
    low = url.lower()
    if low.startswith("ws://"):
        rest = url[5:]
    elif low.startswith("wss://"):
        rest = url[6:]
    else:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme:
            return "URL scheme %r is not supported: use ws:// or wss://" % scheme
        return "URL must start with ws:// or wss://"
    authority = re.split(r"[/?#]", rest, 1)[0]
    if not authority:
        return "URL has no host"
    if "@" in authority:
        return "URL must not contain user:password@ (use headers or on_credentials)"
    port = None
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return "URL has an unclosed IPv6 bracket"
        try:
            ipaddress.IPv6Address(authority[1:end])
        except ValueError:
            return "URL host %r is not an IPv6 address" % authority[1:end]
        tail = authority[end + 1:]
        if tail and not tail.startswith(":"):
            return "URL has %r after the IPv6 address" % tail
        port = tail[1:] if tail else None
    else:
        host, sep, p = authority.partition(":")
        if not host:
            return "URL has no host"
        if not _HOST.match(host):
            return "URL host %r has characters a host name cannot have" % host
        if len(host) > 253:
            return "URL host is too long"
        port = p if sep else None
    if port is not None:
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            return "URL port %r is not a number from 1 to 65535" % port
    if len(url) > 4000:
        return "URL is too long"
    return None
