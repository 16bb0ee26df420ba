#!/bin/bash
# usage: probe.sh LABEL OVERRIDES...   (one tsearch run under nice; appends one row to /tmp/p29/results.tsv)
. /work/wt29/.venv/bin/activate
cd /tmp/p29
label=$1; shift
args=(); for o in "$@"; do args+=(--set "$o"); done
rm -rf "/tmp/p29/runs/$label"; mkdir -p /tmp/p29/runs /tmp/p29/logs
load=$(cut -d' ' -f1 /proc/loadavg)
t0=$(date +%s.%N)
nice -n 19 tsearch run exp1_wide --quiet "${args[@]}" --out "/tmp/p29/runs/$label" > "/tmp/p29/logs/$label.log" 2>&1
rc=$?
t1=$(date +%s.%N)
python3 - "$label" "$rc" "$t0" "$t1" "$load" "$*" <<'PY'
import json, sys
label, rc, t0, t1, load, overrides = sys.argv[1:]
wall = float(t1) - float(t0)
try:
    rows = [json.loads(l) for l in open(f"/tmp/p29/runs/{label}/metrics.jsonl")]
    last = rows[-1]
    best_cov = max(r["coverage_unseen"] for r in rows)
    curve = " ".join(f"{r['step']}:{r['copy']:.2f}" for r in rows)
    row = [label, rc, f"{last['step']}", f"{last['copy']:.3f}", f"{last['valid']:.3f}", f"{last['coverage_unseen']:.3f}", f"{best_cov:.3f}", f"{wall:.0f}", load, overrides, curve]
except Exception as e:
    row = [label, rc, "-", "-", "-", "-", "-", f"{wall:.0f}", load, overrides, repr(e)]
with open("/tmp/p29/results.tsv", "a") as f:
    f.write("\t".join(map(str, row)) + "\n")
print("\t".join(map(str, row)))
PY
