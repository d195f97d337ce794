#!/usr/bin/env bash
# Crash: `containerv run` killed with SIGKILL at random moments of its life
# (CV_CRASH_KILLS of them, default 100; the full run is 200), each followed by
# `containerv gc`: nothing is left (mounts, cgroups, processes, runtime-dir
# entries). The delays are drawn between 0 and the time a whole run took here
# from a seed printed first (CV_CRASH_SEED replays one). Counts only: the
# delays only place the kill, no time is a pass/fail criterion.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

KILLS=${CV_CRASH_KILLS:-100}
SEED=${CV_CRASH_SEED:-$(( $(date +%s%N) % 32768 ))}
note "seed $SEED (CV_CRASH_SEED=$SEED replays it), $KILLS kills"
RANDOM=$SEED

leak_snap
# how long a whole run takes here, in µs (the range of the delays)
t0=$(date +%s%N)
capture cvrun -- /bin/cvtest exit 0
t1=$(date +%s%N)
is "$RC" 0 "a run to its end"
SPAN=$(( (t1 - t0) / 1000 ))
[ "$SPAN" -gt 0 ] || SPAN=1000
note "a run takes ${SPAN} µs here"

killed=0 finished=0 gcfail=0
for ((i = 0; i < KILLS; i++)); do
  newid
  # a command that keeps the container busy when the kill comes late
  "$CONTAINERV" --runtime-dir "$RT" run --name "$ID" --lower "$CV_HELPER_LAYER" \
    --lower "$CV_DEFAULT_ROOTFS" -- /bin/cvtest exit 0 >/dev/null 2>&1 &
  pid=$!
  d=$(( (RANDOM * 32768 + RANDOM) % SPAN ))
  sleep "$(printf '0.%06d' "$d")"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
  wait "$pid" 2>/dev/null
  cv gc >/dev/null 2>"$T/gc.err" || { gcfail=$((gcfail + 1)); note "gc after kill $i (delay ${d} µs): $(cat "$T/gc.err")"; }
done
note "$killed killed before they ended, $finished had ended"
is "$gcfail" 0 "gc succeeded after every kill"
# the processes of a killed run die with it or with gc: wait for that (bounded
# only to catch a hang), then gc once more for what was still dying
wait_until 200 test "$(our_procs)" = 0 || true
cv gc >/dev/null 2>&1
capture cv list
is "$(echo "$OUT" | grep -c -- "$PFX")" 0 "nothing listed after $KILLS kills and gc"
no_leaks "$KILLS kills of run at random moments, then gc"
