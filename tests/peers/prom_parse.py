#!/usr/bin/env python3
"""Fetches a Prometheus text page and parses it with the official
`prometheus_client` parser. Prints one JSON object: {"ok": true,
"samples": {"name{label=\"v\"}": value, ...}, "types": {family: type}}.
Exit code 1 if the page does not parse.

  prom_parse.py URL
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
            ctype = r.headers.get("Content-Type", "")
            text = r.read().decode("utf-8")
        samples, types = {}, {}
        for fam in text_string_to_metric_families(text):
            types[fam.name] = fam.type
            for s in fam.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
        out = {"ok": True, "content_type": ctype, "types": types, "samples": samples}
    except Exception as e:  # reported on stdout for the C test
        out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
