"""The mws.v1 test vectors, read by a third party.

docs/PROTOCOL.md says that another implementation can decode and encode
`mws.v1` from the page alone. This file is that implementation in Python,
built on the `msgpack` package from PyPI (not on our C code): a decoder of
the envelope schema that walks the input with msgpack's streaming Unpacker,
and an encoder that hands Python values to msgpack.packb. Every valid vector
must decode to its fields and (unless marked decode only) encode back to
exactly its bytes; every malformed vector must be rejected with its error
name and close code.
"""
from __future__ import annotations

import json
import pathlib
from typing import Any, Dict, List, Optional, Tuple

import msgpack
import pytest

VECTORS = json.loads(
    (pathlib.Path(__file__).resolve().parents[1] / "vectors" / "mws_v1.json").read_text()
)

TYPES = {1: "hello", 2: "welcome", 3: "data", 4: "ack", 5: "ping", 6: "pong", 7: "goaway", 8: "batch", 9: "error"}
TYPE_IDS = {name: t for t, name in TYPES.items()}
# (least, most) elements of each envelope; None: extra trailing elements allowed (extensions).
ARITY = {
    "hello": (4, None), "welcome": (5, None), "data": (3, 4), "ack": (2, 2), "ping": (2, 2),
    "pong": (2, 2), "goaway": (4, 4), "batch": (3, 4), "error": (3, 3),
}
# PROTOCOL.md section 8: the close code of each decoder error.
CLOSE = {
    "ETRUNC": 4002, "ETRAILING": 4002, "EFORMAT": 4002, "ETYPE": 4002, "EARITY": 4002,
    "EVALUE": 4002, "EDEPTH": 4002, "EUNKNOWN": 4003, "ETOOBIG": 4009, "EPAYLOAD": 4009, "EBATCH": 4009,
}
MAX_DEPTH = 8
U64_MAX = 2**64 - 1
JSON_SAFE = 2**53


class EnvError(Exception):
    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def family(b: int) -> str:
    """The msgpack family of a value from its first byte (the msgpack spec's format table)."""
    if b <= 0x7F or b >= 0xE0 or 0xCC <= b <= 0xD3:
        return "int"
    if 0x80 <= b <= 0x8F or b in (0xDE, 0xDF):
        return "map"
    if 0x90 <= b <= 0x9F or b in (0xDC, 0xDD):
        return "array"
    if 0xA0 <= b <= 0xBF or 0xD9 <= b <= 0xDB:
        return "str"
    if 0xC4 <= b <= 0xC6:
        return "bin"
    if b == 0xC0:
        return "nil"
    if b in (0xC2, 0xC3):
        return "bool"
    if b in (0xCA, 0xCB):
        return "float"
    if b == 0xC1:
        return "never"
    return "ext"


class Reader:
    """Left to right over one envelope: the first rule broken is the error."""

    def __init__(self, data: bytes, limits: Dict[str, int]):
        self.data = data
        self.limits = limits
        # No msgpack-side length limits: lengths are checked against the
        # bytes present (ETRUNC) and then against our limits, in that order.
        big = 2**32 - 1
        self.u = msgpack.Unpacker(
            raw=False, max_buffer_size=max(len(data), 1), max_bin_len=big, max_str_len=big,
            max_array_len=big, max_map_len=big, max_ext_len=big,
        )
        self.u.feed(data)

    def left(self) -> int:
        return len(self.data) - self.u.tell()

    def peek(self) -> str:
        if not self.left():
            raise EnvError("ETRUNC")
        f = family(self.data[self.u.tell()])
        if f == "never":
            raise EnvError("EFORMAT")
        return f

    def value(self) -> Any:
        try:
            return self.u.unpack()
        except msgpack.OutOfData:
            raise EnvError("ETRUNC") from None
        except UnicodeDecodeError:
            raise EnvError("EVALUE") from None  # a str that is not UTF-8
        except msgpack.FormatError:
            raise EnvError("EFORMAT") from None

    def header(self, kind: str) -> int:
        try:
            n = self.u.read_array_header() if kind == "array" else self.u.read_map_header() * 2
        except msgpack.OutOfData:
            raise EnvError("ETRUNC") from None
        if n > self.left():  # every element takes at least one byte
            raise EnvError("ETRUNC")
        return n

    def expect(self, *families: str) -> str:
        f = self.peek()
        if f not in families:
            raise EnvError("ETYPE")
        return f

    def uint(self) -> int:
        self.expect("int")
        v = self.value()
        if v < 0:
            raise EnvError("EVALUE")
        return v

    def seq(self) -> int:
        v = self.uint()
        if v == 0:
            raise EnvError("EVALUE")
        return v

    def ident(self, nil_ok: bool = False) -> Optional[bytes]:
        if self.expect("bin", "nil") == "nil":
            if not nil_ok:
                raise EnvError("ETYPE")
            self.value()
            return None
        v = self.value()
        if len(v) != 16:
            raise EnvError("EVALUE")
        return v

    def payload(self) -> Tuple[bytes, bool]:
        text = self.expect("bin", "str") == "str"
        v = self.value()
        raw = v.encode("utf-8") if text else v
        if len(raw) > self.limits["max_payload_bytes"]:
            raise EnvError("EPAYLOAD")
        return raw, text

    def reason(self) -> str:
        self.expect("str")
        v = self.value()
        if len(v.encode("utf-8")) > 123:
            raise EnvError("EVALUE")
        return v

    def code(self) -> int:
        v = self.uint()
        if not 1000 <= v <= 4999:
            raise EnvError("EVALUE")
        return v

    def boolean(self) -> bool:
        self.expect("bool")
        return self.value()

    def skip(self, depth: int) -> None:
        """An extension field: any type, nested at most MAX_DEPTH levels."""
        if depth > MAX_DEPTH:
            raise EnvError("EDEPTH")
        f = self.peek()
        if f in ("array", "map"):
            for _ in range(self.header(f)):
                self.skip(depth + 1)
            return
        try:
            self.u.skip()
        except msgpack.OutOfData:
            raise EnvError("ETRUNC") from None


def num(v: int) -> Any:
    """Integers above 2^53 are decimal strings in the vectors file."""
    return str(v) if v > JSON_SAFE else v


def payload_json(p: Tuple[bytes, bool]) -> Dict[str, Any]:
    return {"hex": p[0].hex(), "text": p[1]}


def decode(data: bytes, limits: Optional[Dict[str, int]] = None) -> Tuple[str, Dict[str, Any]]:
    lim = dict(VECTORS["default_limits"], **(limits or {}))
    if len(data) > lim["max_envelope_bytes"]:
        raise EnvError("ETOOBIG")
    r = Reader(data, lim)
    f = r.peek()
    if f != "array":
        raise EnvError("EFORMAT")
    n = r.header("array")
    if n == 0:
        raise EnvError("EARITY")
    t = r.uint()
    if t not in TYPES:
        raise EnvError("EUNKNOWN")
    name = TYPES[t]
    least, most = ARITY[name]
    if n < least or (most is not None and n > most):
        raise EnvError("EARITY")
    fields: Dict[str, Any]
    if name == "hello":
        sid = r.ident(nil_ok=True)
        fields = {"session_id": sid.hex() if sid else None, "secret": r.ident().hex(), "last_recv_seq": num(r.uint())}
    elif name == "welcome":
        fields = {"session_id": r.ident().hex(), "resumed": r.boolean(),
                  "last_recv_seq": num(r.uint()), "session_ttl_ms": num(r.uint())}
    elif name == "data":
        fields = {"seq": num(r.seq()), "payload": payload_json(r.payload())}
    elif name == "ack":
        fields = {"ack": num(r.uint())}
    elif name in ("ping", "pong"):
        fields = {"timestamp_ms": num(r.uint())}
    elif name == "goaway":
        fields = {"code": r.code(), "retry_after_ms": num(r.uint()), "reason": r.reason()}
    elif name == "error":
        fields = {"code": r.code(), "reason": r.reason()}
    else:  # batch
        first = r.seq()
        r.expect("array")
        count = r.header("array")
        if count == 0 or count > lim["max_batch_count"]:
            raise EnvError("EBATCH")
        if first + count - 1 > U64_MAX:
            raise EnvError("EVALUE")
        fields = {"first_seq": num(first), "items": [payload_json(r.payload()) for _ in range(count)]}
    if name in ("data", "batch"):
        ack = r.uint() if n == 4 else 0
        fields["ack"] = num(ack) if ack else None  # an ack of 0 is no ack
    for _ in range(n - least if name in ("hello", "welcome") else 0):
        r.skip(1)
    if r.left():
        raise EnvError("ETRAILING")
    return name, fields


def encode(name: str, fields: Dict[str, Any]) -> bytes:
    def n(v: Any) -> int:
        return int(v)

    def p(j: Dict[str, Any]) -> Any:
        raw = bytes.fromhex(j["hex"])
        return raw.decode("utf-8") if j["text"] else raw

    def ident(h: Optional[str]) -> Optional[bytes]:
        return None if h is None else bytes.fromhex(h)

    f = fields
    if name == "hello":
        env = [ident(f["session_id"]), ident(f["secret"]), n(f["last_recv_seq"])]
    elif name == "welcome":
        env = [ident(f["session_id"]), f["resumed"], n(f["last_recv_seq"]), n(f["session_ttl_ms"])]
    elif name == "data":
        env = [n(f["seq"]), p(f["payload"])]
    elif name == "ack":
        env = [n(f["ack"])]
    elif name in ("ping", "pong"):
        env = [n(f["timestamp_ms"])]
    elif name == "goaway":
        env = [f["code"], n(f["retry_after_ms"]), f["reason"]]
    elif name == "error":
        env = [f["code"], f["reason"]]
    else:
        env = [n(f["first_seq"]), [p(i) for i in f["items"]]]
    if name in ("data", "batch") and f["ack"]:
        env.append(n(f["ack"]))
    # msgpack-python writes every integer in its shortest form, bytes as bin
    # and str as str (use_bin_type), which is what PROTOCOL.md asks of encoders.
    return msgpack.packb([TYPE_IDS[name]] + env, use_bin_type=True)


def _ids(vs: List[Dict[str, Any]]) -> List[str]:
    return [v["name"] for v in vs]


def test_every_error_name_and_code_is_in_the_table():
    for v in VECTORS["invalid"]:
        assert CLOSE[v["error"]] == v["close_code"], v["name"]


@pytest.mark.parametrize("vec", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_valid_vector_decodes_to_its_fields(vec):
    name, fields = decode(bytes.fromhex(vec["hex"]))
    assert name == vec["type"]
    assert fields == vec["fields"]


@pytest.mark.parametrize("vec", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_valid_vector_encodes_to_its_bytes(vec):
    out = encode(vec["type"], vec["fields"])
    if vec["encode"]:
        assert out.hex() == vec["hex"]
    else:
        # Decode-only vectors use forms an encoder never writes: the
        # canonical encoding must be different and decode to the same fields.
        assert out.hex() != vec["hex"]
    assert decode(out) == (vec["type"], vec["fields"])


@pytest.mark.parametrize("vec", VECTORS["invalid"], ids=_ids(VECTORS["invalid"]))
def test_malformed_vector_is_rejected_with_its_error(vec):
    with pytest.raises(EnvError) as e:
        decode(bytes.fromhex(vec["hex"]), vec.get("limits"))
    assert e.value.name == vec["error"]
    assert CLOSE[e.value.name] == vec["close_code"]


@pytest.mark.parametrize("vec", VECTORS["valid"], ids=_ids(VECTORS["valid"]))
def test_valid_vector_cut_short_is_etrunc_and_extended_is_etrailing(vec):
    data = bytes.fromhex(vec["hex"])
    for cut in range(len(data)):
        with pytest.raises(EnvError) as e:
            decode(data[:cut])
        assert e.value.name == "ETRUNC", cut
    with pytest.raises(EnvError) as e:
        decode(data + b"\x00")
    assert e.value.name == "ETRAILING"
