#!/usr/bin/env bash
# Crash: `containerv run` killed with SIGKILL at moments spread over its whole
# life (CV_CRASH_KILLS of them, default 100; the full run is 200), each
# followed by `containerv gc`: nothing is left (mounts, cgroups, processes,
# runtime-dir entries).
#
# Where the kills go: a few calibration runs of a workload that lives a known
# while (`cvtest live`: writes "start", sleeps, writes "end") are watched,
# which gives four windows of a run's life: the first steps of create (from
# the first step's --debug line until <id>.json appears), the rest of create
# (the child's set-up, the spawn, until "start"), running (until "end") and
# teardown (until the process is gone). Kill i goes to window i % 4: the
# test watches the run for the event that opens the window (every 200 µs),
# then waits a time drawn uniformly below the window's length, from a seed
# printed first (CV_CRASH_SEED replays one). Anchored so, a kill lands in its
# window or later however loaded the machine is.
#
# Where the kills landed is read from what each killed run left, not from
# times: its --debug trace (the last create step it finished) and the
# workload's "start"/"end". A histogram of those is printed, and at least
# half of the kills must have hit a run mid-life (after its first create
# step, before it ended; kills spread uniformly up to one cold run's time, as
# before, hit 20-35 of 100 here, these 85-97). Times only place the kills;
# counts and leaks are the criteria.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"
export LC_ALL=C # EPOCHREALTIME and read -t with a '.'

KILLS=${CV_CRASH_KILLS:-100}
SEED=${CV_CRASH_SEED:-$(( $(date +%s%N) % 32768 ))}
LIVE=0.02 # seconds the workload lives: a running window as long as a create
CALIBRATE=5
note "seed $SEED (CV_CRASH_SEED=$SEED replays it), $KILLS kills"
RANDOM=$SEED

mkfifo "$T/never"
exec 9<>"$T/never" # read -t on it: a pause without a fork

# launch: a run of `cvtest live` in the background; sets PID and T0 (µs)
launch() {
  : >"$T/out"; : >"$T/err"
  "$CONTAINERV" --runtime-dir "$RT" --debug run --name "$ID" --lower "$CV_HELPER_LAYER" \
    --lower "$CV_DEFAULT_ROOTFS" -- /bin/cvtest live "$LIVE" >"$T/out" 2>"$T/err" &
  PID=$!
  T0=${EPOCHREALTIME//[.,]/}
}

# pause_us N: N µs without a fork
pause_us() {
  local secs
  [ "$1" -gt 0 ] || return 0
  printf -v secs '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000))
  read -r -t "$secs" -u 9 _ || true
}

# the workload's lines so far: sets W1 ("start" seen) and W2 ("end" seen)
workload_seen() {
  local l1="" l2=""
  { read -r l1; read -r l2; } <"$T/out" 2>/dev/null
  W1=0 W2=0
  [ "$l1" = start ] && W1=1
  [ "$l2" = end ] && W2=1
  return 0
}

# the event that opens window $1 has happened in the current run
opened() {
  case $1 in
    0) [ -s "$T/err" ] ;;          # the first create step is done (its --debug line)
    1) [ -e "$RT/$ID.json" ] ;;    # the state file exists
    2) workload_seen; [ "$W1" = 1 ] ;; # the workload runs
    3) workload_seen; [ "$W2" = 1 ] ;; # the workload has ended
  esac
}

# ---- calibration: the four windows, medians over CALIBRATE watched runs
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
cal_first=() cal_state=() cal_start=() cal_end=() cal_exit=()
leak_snap
for ((k = -1; k < CALIBRATE; k++)); do # run -1 warms the caches up and is not counted
  newid
  launch
  tf="" ts="" tw="" te=""
  while :; do
    now=${EPOCHREALTIME//[.,]/}
    [ -z "$tf" ] && [ -s "$T/err" ] && tf=$((now - T0))
    [ -z "$ts" ] && [ -e "$RT/$ID.json" ] && ts=$((now - T0))
    if [ -z "$te" ]; then
      workload_seen
      [ -z "$tw" ] && [ "$W1" = 1 ] && tw=$((now - T0))
      [ "$W2" = 1 ] && te=$((now - T0))
    fi
    kill -0 "$PID" 2>/dev/null || break
    pause_us 200 # a look every 200 µs leaves the CPUs to the run
  done
  tx=$((now - T0))
  wait "$PID"
  rc=$?
  is "$rc" 0 "calibration run $k runs to its end"
  [ "$k" -ge 0 ] || continue
  # a marker the watch missed (its window was shorter than one look): the next one
  te=${te:-$tx} tw=${tw:-$te} ts=${ts:-$tw} tf=${tf:-$ts}
  cal_first+=("$tf") cal_state+=("$ts") cal_start+=("$tw") cal_end+=("$te") cal_exit+=("$tx")
done
B0=$(median "${cal_first[@]}") B1=$(median "${cal_state[@]}") B2=$(median "${cal_start[@]}")
B3=$(median "${cal_end[@]}") B4=$(median "${cal_exit[@]}")
note "a run here (µs after its launch, median of $CALIBRATE): first step done at $B0, <id>.json at $B1, \"start\" at $B2, \"end\" at $B3, exit at $B4"
[ "$B0" -le "$B1" ] || B0=0
bounds=("$B0" "$B1" "$B2" "$B3" "$B4")
window_names=("first create steps" "rest of create, spawn" "running" "teardown")

# ---- the kills
declare -A landed=()
declare -A aimed_at=()
killed=0 gcfail=0
for ((i = 0; i < KILLS; i++)); do
  w=$((i % 4))
  lo=${bounds[$w]} hi=${bounds[$((w + 1))]}
  span=$((hi > lo ? hi - lo : 1))
  d=$(((RANDOM * 32768 + RANDOM) % span))
  aimed_at[$w]=$((${aimed_at[$w]:-0} + 1))
  newid
  launch
  until opened "$w" || ! kill -0 "$PID" 2>/dev/null; do pause_us 200; done
  pause_us "$d"
  if kill -9 "$PID" 2>/dev/null; then
    killed=$((killed + 1))
    wait "$PID" 2>/dev/null
    # where it was: the workload's lines, else the last create step traced
    workload_seen
    last=""
    while read -r line; do
      case "$line" in
        "containerv: debug: spawned pid "*) last=spawned ;;
        "containerv: debug: child."*) [ "$last" = spawned ] || last=child.ready ;;
        "containerv: debug: "*) [ "$last" = spawned ] || { last=${line#containerv: debug: }; last=${last%% *}; } ;;
      esac
    done <"$T/err"
    if [ "$W2" = 1 ]; then
      at="4 teardown (the workload had ended)"
    elif [ "$W1" = 1 ]; then
      at="3 running"
    elif [ "$last" = spawned ]; then
      at="2 create: spawned, before the workload ran"
    elif [ -n "$last" ]; then
      at="2 create: after step $last"
    else
      at="1 start-up: before the first create step"
    fi
  else
    wait "$PID" 2>/dev/null
    at="5 ended before the kill"
  fi
  landed[$at]=$((${landed[$at]:-0} + 1))
  cv gc >/dev/null 2>"$T/gc.err" || { gcfail=$((gcfail + 1)); note "gc after kill $i ($at): $(cat "$T/gc.err")"; }
done

note "aimed at: $(for w in 0 1 2 3; do printf '%s %d; ' "${window_names[$w]}" "${aimed_at[$w]:-0}"; done)"
note "where the $KILLS kills landed (from what each run left):"
mid=0 create=0 running=0
while IFS= read -r at; do
  [ -n "$at" ] || continue
  n=${landed[$at]}
  note "$(printf '%5d  %s' "$n" "${at#? }")"
  case "$at" in
    2*) create=$((create + n)) mid=$((mid + n)) ;;
    3*) running=$((running + n)) mid=$((mid + n)) ;;
    4*) mid=$((mid + n)) ;;
  esac
done < <(printf '%s\n' "${!landed[@]}" | sort)
note "$killed killed before they ended, $mid of them mid-life (create $create, running $running)"
is "$gcfail" 0 "gc succeeded after every kill"
if [ $((mid * 2)) -ge "$KILLS" ]; then
  ok "at least half of the kills hit a run mid-life ($mid of $KILLS)"
else
  fail "only $mid of $KILLS kills hit a run mid-life (after its first create step, before it ended)"
fi
if [ "$KILLS" -ge 20 ]; then
  isnt "$create" 0 "kills landed in create"
  isnt "$running" 0 "kills landed while the workload ran"
fi
# the processes of a killed run die with it or with gc: wait for that (bounded
# only to catch a hang), then gc once more for what was still dying
wait_until 200 test "$(our_procs)" = 0 || true
cv gc >/dev/null 2>&1
capture cv list
is "$(echo "$OUT" | grep -c -- "$PFX")" 0 "nothing listed after $KILLS kills and gc"
no_leaks "$KILLS kills of run spread over its life, then gc"
