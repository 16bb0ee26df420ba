#!/bin/bash
# Issue 28 item 5 stage 1 + issue 27's default timing: 6 seeds x {plain, screen8} of the packaged
# evolve, interleaved, each timed on the otherwise idle 2 cores, from a frozen worktree.
cd /work/frozen-q
. /work/main/.venv/bin/activate
export PYTHONPATH=/work/frozen-q
R=/work/runs/study28
for s in 0 1 2 3 4 5; do
  for arm in plain screen8; do
    d=$R/$arm/seed-$s
    [ -f $d/outputs.json ] && continue
    extra=""; [ $arm = screen8 ] && extra="--set search.screen_factor=8"
    mkdir -p $R/$arm
    echo "start $arm $s $(date -Is) $(uptime)" >> $R/times.txt
    if [ -d $d ]; then cmd="tsearch evolve --resume $d --quiet"; else cmd="tsearch evolve --set run.seed=$s $extra --out $d --quiet"; fi
    /usr/bin/time -v $cmd > $R/$arm-$s.log 2> $R/$arm-$s.err
    echo "end $arm $s rc=$? $(date -Is) $(uptime)" >> $R/times.txt
    grep -E "Elapsed|User time|System time|Maximum resident" $R/$arm-$s.err | tr '\n' ' ' >> $R/times.txt; echo >> $R/times.txt
  done
done
echo "queue done $(date -Is)" >> $R/times.txt
