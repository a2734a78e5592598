#!/usr/bin/python3
"""Parses a Prometheus text exposition on stdin with the Prometheus client
library's own parser (prometheus_client, Debian's python3-prometheus-client)
and prints its families as JSON: [{name, type, help, samples: [[name,
labels, value]]}]. Exits non-zero, saying why, when the text does not parse
or a family lacks its HELP or TYPE. With --gzip, the input is gunzipped
first (Python's own gzip module). Used by tests/it/daemon_metrics.rs."""
import gzip
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    raw = sys.stdin.buffer.read()
    # --gzip: the body is a gzip member (Content-Encoding: gzip).
    text = (gzip.decompress(raw) if "--gzip" in sys.argv[1:] else raw).decode()
    out = []
    try:
        for f in text_string_to_metric_families(text):
            if f.type == "unknown" or not f.documentation:
                sys.exit(f"family {f.name} lacks its TYPE or HELP")
            out.append({
                "name": f.name,
                "type": f.type,
                "help": f.documentation,
                "samples": [[s.name, s.labels, s.value] for s in f.samples],
            })
    except ValueError as e:
        sys.exit(f"does not parse: {e}")
    json.dump(out, sys.stdout)


main()
