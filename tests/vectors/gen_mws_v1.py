#!/usr/bin/env python3
"""Writes tests/vectors/mws_v1.json: the mws.v1 test vectors of
docs/PROTOCOL.md. The bytes come from the small msgpack writer below, not
from the C encoder, so the C tests check one implementation against
another. Run it again only when the protocol changes."""
import json
import os
import struct

SECRET = bytes(range(16))
SID = bytes(range(0xA0, 0xB0))


class Bin(bytes):
    pass


class Raw:  # bytes written as they are (hand-made malformed parts)
    def __init__(self, b):
        self.b = b


def pack(v):
    if isinstance(v, Raw):
        return v.b
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if v < 0:
            if v >= -32:
                return struct.pack("b", v)
            return b"\xd3" + struct.pack(">q", v)
        if v < 128:
            return bytes([v])
        for marker, fmt, top in ((0xCC, ">B", 0xFF), (0xCD, ">H", 0xFFFF),
                                 (0xCE, ">I", 0xFFFFFFFF), (0xCF, ">Q", 2**64 - 1)):
            if v <= top:
                return bytes([marker]) + struct.pack(fmt, v)
    if isinstance(v, Bin):
        n = len(v)
        head = b"\xc4" + bytes([n]) if n < 256 else (b"\xc5" + struct.pack(">H", n) if n < 65536 else b"\xc6" + struct.pack(">I", n))
        return head + bytes(v)
    if isinstance(v, str):
        b = v.encode()
        n = len(b)
        head = bytes([0xA0 | n]) if n < 32 else (b"\xd9" + bytes([n]) if n < 256 else b"\xda" + struct.pack(">H", n))
        return head + b
    if isinstance(v, list):
        n = len(v)
        head = bytes([0x90 | n]) if n < 16 else (b"\xdc" + struct.pack(">H", n) if n < 65536 else b"\xdd" + struct.pack(">I", n))
        return head + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        n = len(v)
        return bytes([0x80 | n]) + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(v)


def num(v):  # numbers above 2^53 travel as decimal strings (JSON doubles)
    return v if v < 2**53 else str(v)


def payload(p):
    return {"hex": bytes(p).hex(), "text": isinstance(p, str)} if not isinstance(p, str) else {"hex": p.encode().hex(), "text": True}


valid = []


def add(name, env, fields, encode=True):
    valid.append({"name": name, "hex": pack(env).hex(), "type": fields.pop("type"),
                  "fields": fields, "encode": encode})


add("hello_new_session", [1, None, Bin(SECRET), 0],
    {"type": "hello", "session_id": None, "secret": SECRET.hex(), "last_recv_seq": 0})
add("hello_resume", [1, Bin(SID), Bin(SECRET), 300],
    {"type": "hello", "session_id": SID.hex(), "secret": SECRET.hex(), "last_recv_seq": 300})
add("welcome_new_session", [2, Bin(SID), False, 0, 120000],
    {"type": "welcome", "session_id": SID.hex(), "resumed": False, "last_recv_seq": 0,
     "session_ttl_ms": 120000})
add("welcome_resumed", [2, Bin(SID), True, 41, 120000],
    {"type": "welcome", "session_id": SID.hex(), "resumed": True, "last_recv_seq": 41,
     "session_ttl_ms": 120000})
add("data_binary", [3, 1, Bin(b"hi")],
    {"type": "data", "seq": 1, "payload": payload(Bin(b"hi")), "ack": None})
add("data_text_with_ack", [3, 200, "hello", 7],
    {"type": "data", "seq": 200, "payload": payload("hello"), "ack": 7})
add("data_empty_payload_largest_seq", [3, 2**64 - 1, Bin(b"")],
    {"type": "data", "seq": num(2**64 - 1), "payload": payload(Bin(b"")), "ack": None})
add("data_64_bytes", [3, 70000, Bin(bytes(range(64)))],
    {"type": "data", "seq": 70000, "payload": payload(Bin(bytes(range(64)))), "ack": None})
add("ack", [4, 42], {"type": "ack", "ack": 42})
add("ping", [5, 1700000000123], {"type": "ping", "timestamp_ms": 1700000000123})
add("pong", [6, 1700000000123], {"type": "pong", "timestamp_ms": 1700000000123})
add("goaway_restart", [7, 1012, 2500, "server restart"],
    {"type": "goaway", "code": 1012, "retry_after_ms": 2500, "reason": "server restart"})
add("error_malformed", [9, 4002, "mws.v1: ETRUNC"],
    {"type": "error", "code": 4002, "reason": "mws.v1: ETRUNC"})
items = [Bin(b"a"), "b", Bin(bytes(range(40)))]
add("batch_with_ack", [8, 10, items, 9],
    {"type": "batch", "first_seq": 10, "items": [payload(p) for p in items], "ack": 9})
items2 = [Bin(bytes([i])) for i in range(17)]
add("batch_17_items", [8, 1, items2],
    {"type": "batch", "first_seq": 1, "items": [payload(p) for p in items2], "ack": None})
# Decoded, never produced: receivers are lenient where the spec says so.
add("hello_with_extension_field", [1, None, Bin(SECRET), 0, {"x": 1}],
    {"type": "hello", "session_id": None, "secret": SECRET.hex(), "last_recv_seq": 0},
    encode=False)
add("data_seq_in_signed_and_long_forms", [3, Raw(b"\xd0\x05"), Bin(b"x"), Raw(b"\xcf" + struct.pack(">Q", 4))],
    {"type": "data", "seq": 5, "payload": payload(Bin(b"x")), "ack": 4}, encode=False)

invalid = []


def bad(name, data, error, limits=None):
    b = data if isinstance(data, bytes) else pack(data)
    v = {"name": name, "hex": b.hex(), "error": error}
    if limits:
        v["limits"] = limits
    invalid.append(v)


nest = []
for _ in range(10):
    nest = [nest]
bad("empty_input", b"", "ETRUNC")
bad("byte_c1_never_used", b"\xc1", "EFORMAT")
bad("map_claiming_2^32-1_entries", bytes.fromhex("dfffffffff0a"), "EFORMAT")
bad("array_claiming_2^32-1_elements", bytes.fromhex("ddffffffff03"), "ETRUNC")
bad("array16_header_cut", bytes.fromhex("dcff"), "ETRUNC")
bad("not_an_array", "abc", "EFORMAT")
bad("empty_array", [], "EARITY")
bad("unknown_type_10", [10, 0], "EUNKNOWN")
bad("type_is_a_string", ["data", 1], "ETYPE")
bad("data_missing_payload", [3, 1], "EARITY")
bad("data_payload_is_an_int", [3, 1, 1], "ETYPE")
bad("data_seq_zero", [3, 0, Bin(b"")], "EVALUE")
bad("data_seq_negative", [3, -1, Bin(b"")], "EVALUE")
bad("data_bin32_claiming_4GiB", bytes.fromhex("930301c6ffffffff"), "ETRUNC")
bad("data_truncated_payload", pack([3, 1, Bin(b"hello")])[:-1], "ETRUNC")
bad("ack_then_trailing_byte", pack([4, 1]) + b"\x00", "ETRAILING")
bad("ping_with_extra_field", [5, 1, 2], "EARITY")
bad("hello_session_id_15_bytes", [1, Bin(SID[:15]), Bin(SECRET), 0], "EVALUE")
bad("hello_secret_as_text", [1, None, "0123456789abcdef", 0], "ETYPE")
bad("hello_extension_nested_too_deep", [1, None, Bin(SECRET), 0, nest], "EDEPTH")
bad("goaway_code_999", [7, 999, 0, ""], "EVALUE")
bad("goaway_reason_124_bytes", [7, 1001, 0, "r" * 124], "EVALUE")
bad("batch_empty", [8, 1, []], "EBATCH")
bad("batch_items_claiming_2^32-1", bytes.fromhex("930801ddffffffff"), "ETRUNC")
bad("batch_over_max_batch_count", [8, 1, [Bin(b"a"), Bin(b"b"), Bin(b"c")]], "EBATCH",
    {"max_batch_count": 2})
bad("batch_last_seq_wraps", [8, 2**64 - 1, [Bin(b"a"), Bin(b"b")]], "EVALUE")
bad("batch_item_is_an_int", [8, 1, [Bin(b"a"), 7]], "ETYPE")
bad("payload_over_max_payload_bytes", [3, 1, Bin(b"12345")], "EPAYLOAD",
    {"max_payload_bytes": 4})
bad("envelope_over_max_envelope_bytes", [3, 1, Bin(b"12345")], "ETOOBIG",
    {"max_envelope_bytes": 8})

close_codes = {"ETRUNC": 4002, "ETRAILING": 4002, "EFORMAT": 4002, "ETYPE": 4002,
               "EARITY": 4002, "EVALUE": 4002, "EDEPTH": 4002, "EUNKNOWN": 4003,
               "ETOOBIG": 4009, "EPAYLOAD": 4009, "EBATCH": 4009}
for v in invalid:
    v["close_code"] = close_codes[v["error"]]

doc = {"subprotocol": "mws.v1",
       "note": "Generated by gen_mws_v1.py; see docs/PROTOCOL.md. Integers above 2^53 are decimal strings.",
       "default_limits": {"max_envelope_bytes": 1048640, "max_payload_bytes": 1048576,
                          "max_batch_count": 1024},
       "valid": valid, "invalid": invalid}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mws_v1.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(out, len(valid), "valid", len(invalid), "invalid")
