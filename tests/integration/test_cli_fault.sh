#!/usr/bin/env bash
# Fault injection through the CLI: CONTAINERV_FAULT=<step> makes each step of
# create fail in turn (with options under which every step runs: limits, a
# volume, --read-only) (one clear line naming the step, nothing left behind);
# CONTAINERV_FAULT=pause:<step> holds create at a step, where it is killed
# with SIGKILL; then gc, and nothing may remain.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"
: "${CV_STEPS:?run through ctest}"

mapfile -t steps < <("$CV_STEPS")
if [ "${#steps[@]}" -lt 2 ]; then
  fail "cv-steps printed ${#steps[@]} steps"
  exit 1
fi
note "steps: ${steps[*]}"
mkdir -p "$T/vol"

for step in "${steps[@]}"; do
  section "fault $step"
  newid
  capture env CONTAINERV_FAULT="$step" timeout -k 5 "$CV_TIMEOUT" "$CONTAINERV" --runtime-dir "$RT" \
    run --name "$ID" --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS" --memory 64M --pids 32 \
    --volume "$T/vol:/mnt/vol" --read-only -- cvtest exit 0
  is "$RC" 125 "fault $step: exit 125"
  is "$NERR" 1 "fault $step: one line on stderr"
  like "$(err1)" "$step" "fault $step: the message names the step"
  no_leaks "fault $step"
done

# A CLI paused at a step and killed: the run path (the container dies with
# its CLI) at every step, and the create path (the container outlives the CLI
# once it is up, not before) at a sample of steps: every third, and the last.
create_steps=()
for i in "${!steps[@]}"; do
  if [ $((i % 3)) = 0 ] || [ "$i" = $((${#steps[@]} - 1)) ]; then create_steps+=("${steps[$i]}"); fi
done
for verb in run create; do
  if [ "$verb" = run ]; then verb_steps=("${steps[@]}"); else verb_steps=("${create_steps[@]}"); fi
  for step in "${verb_steps[@]}"; do
    section "$verb paused at $step"
    newid
    if [ "$verb" = run ]; then
      CONTAINERV_FAULT="pause:$step" "$CONTAINERV" --runtime-dir "$RT" run --name "$ID" \
        --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS" --pids 32 --read-only -- cvtest sleep 100 \
        >/dev/null 2>"$T/pause.err" &
    else
      CONTAINERV_FAULT="pause:$step" "$CONTAINERV" --runtime-dir "$RT" create --name "$ID" \
        --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS" --pids 32 --read-only >/dev/null 2>"$T/pause.err" &
    fi
    pid=$!
    BG_PIDS+=("$pid")
    paused() { any_paused "$pid" $(descendants "$pid"); }
    paused_or_exited() { paused || ! alive "$pid"; }
    wait_until 400 paused_or_exited
    if paused; then
      kids=$(descendants "$pid")
      kill -9 "$pid"
      wait "$pid" 2>/dev/null
      gone() { local k; for k in $kids; do alive "$k" && return 1; done; return 0; }
      # what the CLI started dies with it, or at the latest when gc finds it
      if wait_until 100 gone || { cv gc >/dev/null 2>&1; wait_until 100 gone; }; then
        ok "$verb paused at $step, killed: its processes are gone"
      else
        fail "$verb paused at $step, killed: processes still running after gc:$(for k in $kids; do alive "$k" && printf ' %s(%s)' "$k" "$(tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null)"; done)"
        for k in $kids; do kill -9 "$k" 2>/dev/null; done
        wait_until 100 gone
      fi
      capture cv gc
      is "$RC" 0 "$verb paused at $step, killed: gc exits 0"
      is "$(cv list -q)" "" "$verb paused at $step, killed: nothing listed after gc"
    else
      fail "$verb never paused at $step ($(alive "$pid" && echo "still running" || echo "it exited"): $(head -c 300 "$T/pause.err"))"
      kill -9 "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      cv gc >/dev/null 2>&1
    fi
    no_leaks "$verb paused at $step, killed, gc"
  done
done

# The spawn steps (containerv_spawn_steps): CONTAINERV_FAULT=<step> and
# after:<step> make `exec` fail at each with one line naming it, and leave no
# process in the container (the after: faults undo the step's own work: the
# vfork'ed child, the process that was started); then an exec works.
mapfile -t spawn_steps < <("$CV_STEPS" --spawn)
if [ "${#spawn_steps[@]}" -lt 10 ]; then
  fail "cv-steps --spawn printed ${#spawn_steps[@]} steps"
fi
note "spawn steps: ${spawn_steps[*]}"
procs_in() { cv top --json "$1" | jq length; }
section "spawn faults"
newid
SID=$ID
cvcreate --name "$SID" >/dev/null || fail "create $SID for the spawn faults"
is "$(procs_in "$SID")" 1 "spawn faults: the container runs its init alone"
for step in "${spawn_steps[@]}"; do
  for f in "$step" "after:$step"; do
    # spawn.tty runs with a terminal only; spawn.setgroups/setgid/setuid with a user
    tty=(); user=()
    [ "$step" = spawn.tty ] && tty=(-t)
    case "$step" in spawn.set*) user=(--user 1000:1000) ;; esac
    capture env CONTAINERV_FAULT="$f" timeout -k 5 "$CV_TIMEOUT" "$CONTAINERV" --runtime-dir "$RT" \
      exec "${tty[@]}" "${user[@]}" "$SID" cvtest exit 0 </dev/null
    isnt "$RC" 0 "fault $f: exec fails"
    is "$NERR" 1 "fault $f: one line on stderr"
    like "$(err1)" "$step" "fault $f: the message names the step"
    wait_until 100 eval '[ "$(procs_in "$SID")" = 1 ]'
    is "$(procs_in "$SID")" 1 "fault $f: no process left in the container"
  done
done
capture cv exec "$SID" cvtest exit 7
is "$RC" 7 "spawn faults: an exec after them runs"
# paused at the host's spawn steps and killed: nothing of it before the
# answer; after it (spawn.answer), the process it started is the container's
for step in spawn.request spawn.send spawn.answer; do
  CONTAINERV_FAULT="pause:$step" "$CONTAINERV" --runtime-dir "$RT" exec "$SID" cvtest sleep 100 \
    >/dev/null 2>"$T/pause.err" &
  pid=$!
  BG_PIDS+=("$pid")
  paused() { any_paused "$pid"; }
  paused_or_exited() { paused || ! alive "$pid"; }
  wait_until 400 paused_or_exited
  if paused; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    want=1
    [ "$step" = spawn.answer ] && want=2
    wait_until 100 eval '[ "$(procs_in "$SID")" = $want ]'
    is "$(procs_in "$SID")" "$want" "exec paused at $step, killed: $((want - 1)) process of it in the container"
  else
    fail "exec never paused at $step: $(head -c 300 "$T/pause.err")"
  fi
done
cv destroy "$SID" >/dev/null || fail "destroy $SID after the spawn faults"
no_leaks "spawn faults"
