#!/usr/bin/env python3
"""Reads an Autobahn|Testsuite report (index.json) and prints one line

    <end>: OK n, NON-STRICT n, INFORMATIONAL n, FAILED n

then one line per failed case. FAILED counts every verdict that is not OK,
NON-STRICT, INFORMATIONAL or UNIMPLEMENTED (WRONG CODE, UNCLEAN, NO CLOSE,
FAILED BY CLIENT, ...). Exits 1 if a failed case of this end is not in the
allow-list, 0 otherwise; 2 if the report is missing or has no cases.
Without an allow-list it only reports (exit 0): for peers that are not ours.

    summarize.py END INDEX_JSON AGENT [ALLOWLIST]

An allow-list line is "END CASE FILE:LINE REASON..." (see allowlist.txt).
"""
from __future__ import annotations

import json
import re
import sys

PASSING = ("OK", "NON-STRICT", "INFORMATIONAL")


def case_key(case: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", case))


def read_allowlist(path: str | None, end: str) -> dict[str, str]:
    allowed: dict[str, str] = {}
    if not path:
        return allowed
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(None, 3)
            if len(parts) < 4 or ":" not in parts[2]:
                sys.exit(f"{path}:{n}: want 'END CASE FILE:LINE REASON', got: {line}")
            if parts[0] == end:
                allowed[parts[1]] = f"{parts[2]} {parts[3]}"
    return allowed


def main(argv: list[str]) -> int:
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    end, index_path, agent = argv[1], argv[2], argv[3]
    allowed = read_allowlist(argv[4] if len(argv) == 5 else None, end)
    try:
        with open(index_path, encoding="utf-8") as f:
            cases = json.load(f).get(agent, {})
    except (OSError, ValueError) as e:
        print(f"{end}: NO REPORT ({e})")
        return 2
    if not cases:
        print(f"{end}: NO REPORT (no cases for agent {agent} in {index_path})")
        return 2
    counts = {k: 0 for k in PASSING}
    unimplemented = 0
    failed: list[tuple[str, str, int | None]] = []
    for case in sorted(cases, key=case_key):
        verdict = cases[case].get("behavior", "?")
        if verdict in counts:
            counts[verdict] += 1
        elif verdict == "UNIMPLEMENTED":
            unimplemented += 1
        else:
            failed.append((case, verdict, cases[case].get("remoteCloseCode")))
    line = (f"{end}: OK {counts['OK']}, NON-STRICT {counts['NON-STRICT']}, "
            f"INFORMATIONAL {counts['INFORMATIONAL']}, FAILED {len(failed)}")
    if unimplemented:
        line += f", UNIMPLEMENTED {unimplemented}"
    print(line)
    status = 0
    for case, verdict, code in failed:
        why = allowed.get(case)
        if len(argv) == 4:
            print(f"  {case} {verdict} (close {code})")
        elif why:
            print(f"  {case} {verdict} (close {code}): allowed: {why}")
        else:
            print(f"  {case} {verdict} (close {code}): NOT ALLOWED")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
