#!/usr/bin/env bash
# Two Ray nodes on one machine (two raylets of one CPU each), measured: evaluations per hour of
# `tsearch evolve --executor ray --address 127.0.0.1:PORT` with one node and with two, and the
# second node's raylet killed mid-run: that run must end with the pareto.json of the
# uninterrupted two-node run (docs/cluster.md, "Two nodes on one machine").
#
#   bash benchmarks/ray_two_nodes.sh [OUT_DIR] [--set KEY=VALUE ...]
#
# Run it on an otherwise idle machine with >= 2 cores; it stops every Ray it started.
# Defaults: the packaged evolve config cut to 1 generation of 4, sizes [1, 2], 2 random sets per
# size, 1 fresh seed (16 trainings); --set overrides more (e.g. --set train.epochs=400 to check
# that it works in a minute).
set -euo pipefail
OUT=${1:-ray_two_nodes}
shift || true
PORT=${PORT:-6391}
export RAY_AUTH_MODE=token  # token authentication on, as on any cluster (docs/cluster.md)
[ -s ~/.ray/auth_token ] || ray get-auth-token --generate >/dev/null
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SETS=(--set search.generations=1 --set search.population=4 --set "search.size_grid=[1, 2]"
      --set search.n_max=2 --set search.baseline_repeats=2 --set search.reevaluate_seeds=1
      --set executor.tasks_per_chunk=1 "$@")

raylets() { pgrep -f "ray/core/src/ray/raylet/raylet" | sort; }
start_head() { ray start --head --port "$PORT" --node-ip-address 127.0.0.1 --num-cpus 1 \
                 --num-gpus 0 --include-dashboard false --disable-usage-stats >/dev/null; }
start_second() { ray start --address "127.0.0.1:$PORT" --node-ip-address 127.0.0.1 --num-cpus 1 \
                   --num-gpus 0 --disable-usage-stats >/dev/null; }
stop_all() { ray stop --force >/dev/null 2>&1 || true; }
trap stop_all EXIT

run() {  # NAME: one timed evolve on the running cluster; prints trainings and seconds
  local name=$1 t0 t1 n
  t0=$(date +%s.%N)
  tsearch evolve --executor ray --address "127.0.0.1:$PORT" --out "$OUT/$name" --quiet "${SETS[@]}" >/dev/null
  t1=$(date +%s.%N)
  n=$(wc -l < "$OUT/$name/evaluations.jsonl")
  python -c "import json,sys; t=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); \
print(json.dumps({'run': sys.argv[4], 'trainings': n, 'wall_s': round(t, 1), \
'evaluations_per_hour': round(n / t * 3600, 1)}))" "$t0" "$t1" "$n" "$name"
}

uptime
stop_all
start_head
run one_node
start_second
sleep 5
ray status 2>/dev/null | grep -E "node_|CPU" || true
run two_nodes

# the second node's raylet killed once the run has recorded a few trainings
before=$(raylets | head -n 1)
( while [ ! -s "$OUT/two_nodes_killed/evaluations.jsonl" ] \
        || [ "$(wc -l < "$OUT/two_nodes_killed/evaluations.jsonl")" -lt 4 ]; do sleep 1; done
  victim=$(raylets | grep -v -x "$before" | head -n 1)
  echo "killing the second node's raylet (pid $victim) after 4 trainings" >&2
  kill -9 "$victim" ) &
run two_nodes_killed
wait
uptime
python - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
def front(name):
    data = json.loads((out / name / "pareto.json").read_text())
    return json.dumps({k: data[k] for k in ("front", "answer") if k in data}, sort_keys=True)
print(json.dumps({"killed_run_same_pareto_as_uninterrupted": front("two_nodes") == front("two_nodes_killed")}))
EOF
