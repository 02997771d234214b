"""Generates the CFFI API-mode C source of ``managedws._mws`` at build time.

The cdef is not typed by hand: it is the public header run through the C
preprocessor (``cc -E``) with ``MWS_API`` defined empty and every system
header replaced by an empty file, so only the library's own declarations
remain (cffi knows ``size_t``, ``uint64_t`` and friends already). What cffi
cannot parse (GCC attributes, ``__extension__``) is stripped. Three things
are appended, because the preprocessor erases or cannot know them:

- the version macros, as ``#define NAME ...`` so that cffi takes their
  values from the header the module is compiled against (the import-time
  version check compares them with ``mws_version()``);
- the ``extern "Python"`` callbacks the binding implements, written with the
  header's own callback types;
- ``_mws_py_send_packed``, a small C helper of the module itself (below):
  messages handed over as one bytes object and an array of lengths, which
  Python builds far faster than an array of ``mws_message`` structs;
- ``_mws_py_send``, another: ``send()``'s one call, returning the send
  number or the error (no out-parameter for Python to allocate and read);
- nothing else: every function, struct and enum comes from the header.

With ``--lib`` (the static library the module links) and ``--nm``, a
function the header declares but the library does not define yet is left
out of the cdef, with a warning: the header may run ahead of the
implementation (the server half was declared before it was written), and
the Python layer checks ``hasattr(lib, name)`` before offering what needs it.

Usage (CMake runs it):
    build_ffi.py --cc CC --header include/managedws.h --out _mws.c
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

import cffi

# Callbacks implemented in Python (bindings/python/managedws/_callbacks.py).
# Each signature repeats a callback typedef of managedws.h; the C compiler
# checks them when the generated source assigns them to those types.
EXTERN_PYTHON = r"""
extern "Python" void _mws_py_client_state(mws_client *, const mws_state_change *, void *);
extern "Python" void _mws_py_client_message(mws_client *, const void *, size_t, int, void *);
extern "Python" int _mws_py_client_credentials(mws_client *, mws_credentials *, void *);
extern "Python" void _mws_py_client_acked(mws_client *, uint64_t, void *);
extern "Python" void _mws_py_client_session(mws_client *, const mws_session_info *, void *);
extern "Python" void _mws_py_client_messages(mws_client *, const mws_message *, size_t, void *);
extern "Python" void _mws_py_free(void *);
extern "Python" void _mws_py_log(int, const char *, void *);
"""

# Server callbacks, declared only when the header has the server API.
EXTERN_PYTHON_SERVER = r"""
extern "Python" int _mws_py_server_auth(mws_server *, const mws_conn_info *, void *);
extern "Python" void _mws_py_server_connect(mws_server *, mws_conn_id, const mws_conn_info *, void *);
extern "Python" void _mws_py_server_message(mws_server *, mws_conn_id, const void *, size_t, int, void *);
extern "Python" void _mws_py_server_disconnect(mws_server *, mws_conn_id, int, const char *, int, void *);
extern "Python" void _mws_py_server_session(mws_server *, mws_conn_id, int, void *);
"""

# mws_client_send_many over messages packed back to back in `buf`:
# lens[i] bytes each, of types[i] (or all of `type` when types is NULL).
# Declared only when the library has mws_client_send_many.
SEND_PACKED_CDEF = r"""
int _mws_py_send_packed(mws_client *c, const char *buf, const size_t *lens, const int *types,
                        int type, size_t count, size_t *accepted, uint64_t *first);
"""
SEND_PACKED_SOURCE = r"""
static int _mws_py_send_packed(mws_client *c, const char *buf, const size_t *lens,
                               const int *types, int type, size_t count, size_t *accepted,
                               uint64_t *first)
{
	mws_message chunk[256];
	size_t done = 0;
	int rc = 0;
	*accepted = 0;
	*first = 0;
	while (done < count && rc == 0) {
		size_t n = count - done < 256 ? count - done : 256, ok = 0;
		uint64_t f = 0;
		for (size_t i = 0; i < n; i++) {
			chunk[i].data = buf;
			chunk[i].len = lens[done + i];
			chunk[i].type = types ? types[done + i] : type;
			buf += chunk[i].len;
		}
		rc = mws_client_send_many(c, chunk, n, &ok, &f);
		if (ok && !done)
			*first = f;
		done += ok;
	}
	*accepted = done;
	return rc;
}
"""

# send()'s hot path: one crossing, bytes passed as ``const char *`` (CFFI
# hands over the bytes object's own buffer, no copy), and the send number
# returned, or a negative MWS_E... code, instead of written through an
# out-parameter that Python would have to allocate and read back.
SEND_ONE_CDEF = r"""
int64_t _mws_py_send(mws_client *c, const char *data, size_t len, int type);
"""
SEND_ONE_SOURCE = r"""
static int64_t _mws_py_send(mws_client *c, const char *data, size_t len, int type)
{
	uint64_t number = 0;
	int rc = mws_client_send_seq(c, data, len, type, &number);
	return rc < 0 ? (int64_t)rc : (int64_t)number;
}
"""

VERSION_MACROS = ("MWS_VERSION_MAJOR", "MWS_VERSION_MINOR", "MWS_VERSION_PATCH")


def preprocess(cc: str, header: str) -> str:
    with open(header, encoding="utf-8") as f:
        text = f.read()
    with tempfile.TemporaryDirectory() as fake:
        # An empty stand-in for every system header the public header includes.
        for name in set(re.findall(r"#\s*include\s*<([^>]+)>", text)):
            path = os.path.join(fake, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()
        cmd = shlex.split(cc) + ["-E", "-P", "-nostdinc", "-I", fake, "-DMWS_API=", header]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return out


def strip_attributes(text: str) -> str:
    """Removes __attribute__((...)) with balanced parentheses and keywords cffi lacks."""
    out = []
    i = 0
    while True:
        j = text.find("__attribute__", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        k = text.index("(", j)
        depth = 0
        while True:
            if text[k] == "(":
                depth += 1
            elif text[k] == ")":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        i = k + 1
    text = "".join(out)
    text = re.sub(r"\b__extension__\b|\b__restrict\b|\b__inline\b", "", text)
    return "\n".join(line for line in text.splitlines() if line.strip())


def split_statements(text: str) -> list:
    """Top-level declarations (split at ';' outside braces), each with its ';'."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            out.append(text[start : i + 1])
            start = i + 1
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


def defined_symbols(nm: str, lib: str) -> set:
    out = subprocess.run(shlex.split(nm) + ["-g", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if len(line.split()) >= 3}


FUNC_DECL = re.compile(r"^\s*(?!typedef\b)[\w\s\*]*?\b(mws_\w+)\s*\(", re.S)


def drop_missing_functions(body: str, defined: set) -> str:
    kept, dropped = [], []
    for stmt in split_statements(body):
        m = FUNC_DECL.match(stmt)
        if m and m.group(1) not in defined:
            dropped.append(m.group(1))
            continue
        kept.append(stmt)
    if dropped:
        print("build_ffi.py: warning: declared in the header but not in the library, "
              "left out: " + ", ".join(dropped), file=sys.stderr)
    return "\n".join(s.strip() for s in kept)


def make_cdef(cc: str, header: str, defined: "set | None" = None) -> str:
    body = strip_attributes(preprocess(cc, header))
    if defined is not None:
        body = drop_missing_functions(body, defined)
    with open(header, encoding="utf-8") as f:
        text = f.read()
    for name in VERSION_MACROS:
        if not re.search(rf"^#define {name} \d+", text, re.M):
            sys.exit(f"build_ffi.py: {name} not found in {header}")
    defines = "\n".join(f"#define {name} ..." for name in VERSION_MACROS)
    externs = EXTERN_PYTHON
    if re.search(r"\bmws_server_new\b", body):
        externs += EXTERN_PYTHON_SERVER
    if re.search(r"\bmws_client_send_many\b", body):
        externs += SEND_PACKED_CDEF
    if re.search(r"\bmws_client_send_seq\b", body):
        externs += SEND_ONE_CDEF
    return body + "\n" + defines + "\n" + externs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", required=True, help="C compiler command")
    ap.add_argument("--header", required=True)
    ap.add_argument("--out", required=True, help="generated C file")
    ap.add_argument("--cdef-out", help="also write the cdef here (for reading)")
    ap.add_argument("--lib", help="static library the module links (functions it lacks are left out)")
    ap.add_argument("--nm", default="nm")
    args = ap.parse_args()
    defined = defined_symbols(args.nm, args.lib) if args.lib else None
    cdef = make_cdef(args.cc, args.header, defined)
    if args.cdef_out:
        with open(args.cdef_out, "w", encoding="utf-8") as f:
            f.write(cdef)
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    source = '#include "managedws.h"\n'
    if "_mws_py_send_packed" in cdef:
        source += SEND_PACKED_SOURCE
    if "_mws_py_send(" in cdef:
        source += SEND_ONE_SOURCE
    ffi.set_source("managedws._mws", source)
    ffi.emit_c_code(args.out)


if __name__ == "__main__":
    main()
