#!/usr/bin/env bash
# The engine's device check, as one script to run on a machine with a GPU (about 10 minutes on an H200):
# the GPU tests, then `tsearch bench` on the reference workload (batched: 128 tasks; loop: 4),
# once with the defaults (bf16 + compile on CUDA) and once in plain fp32 eager.
# Usage: bash benchmarks/gpu_check.sh   (writes bench_gpu*.jsonl under $OUT or .)
set -uo pipefail
out="${OUT:-.}"
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$out/gpu.txt"
timeout 120 python -m pytest tests/test_engine.py -m gpu -q -x 2>&1 | tail -5 | tee "$out/gpu_tests.txt"
timeout 300 tsearch bench --device cuda --workload reference --tasks 128 --loop-tasks 2 \
    2> "$out/bench_gpu.err" | tee "$out/bench_gpu.jsonl"
timeout 150 tsearch bench --device cuda --workload reference --tasks 128 --loop-tasks 1 \
    --bf16 off --compile off 2> "$out/bench_gpu_fp32.err" | tee "$out/bench_gpu_fp32.jsonl"
