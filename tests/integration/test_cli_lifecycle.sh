#!/usr/bin/env bash
# create / list / exec / destroy / gc from separate CLI processes, and a run
# whose CLI is killed with SIGKILL: stale state that gc removes.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

# ---- create, list, exec, destroy
section "create/exec/destroy"
newid
capture cvcreate --name "$ID"
is "$RC" 0 "create exits 0"
is "$OUT" "$ID" "create prints the id"
is "$(status_of "$ID")" running "list shows it running"
capture cv list -q
is "$OUT" "$ID" "list -q prints the id only"
capture cv list --json
like "$OUT" "\"id\": \"$ID\"" "list --json has the id"
like "$OUT" '"status": "running"' "list --json has the status"

capture cv exec "$ID" -- cvtest exit 3
is "$RC" 3 "exec ID -- cvtest exit 3 returns 3"
capture cv exec "$ID" cvtest exit 4
is "$RC" 4 "exec without -- works too"
capture cv exec "$ID" -- cvtest write /tmp/persist kept
capture cv exec "$ID" -- cvtest cat /tmp/persist
is "$OUT" kept "exec sees what an earlier exec wrote"
capture cv exec "$ID" -- cvtest pid
[ "$OUT" -gt 2 ] 2>/dev/null && ok "exec runs in the container's pid namespace (pid $OUT)" ||
  fail "exec pid # got '$OUT'"
capture cv exec -e CVT_X=1 -w /tmp -u 1000:1000 "$ID" -- sh -c 'echo $CVT_X $(pwd) $(cvtest uid)'
is "$OUT" "1 /tmp 1000" "exec -e -w -u"
capture cv exec "$ID" -- cvtest signal KILL
is "$RC" 137 "exec: killed by a signal -> 137"
capture cv exec "$ID" -- cvtest fds
is "$OUT" "0 1 2" "exec: fds 0 1 2 only"
capture cv exec "$ID" -- /no/such/cmd
is "$RC" 127 "exec of a missing command -> 127"

capture cv destroy "$ID"
is "$RC" 0 "destroy exits 0"
is "$OUT" "$ID" "destroy prints the id"
is "$(status_of "$ID")" "" "list no longer shows it"
capture cv exec "$ID" -- cvtest exit 0
is "$RC" 125 "exec into a destroyed container -> 125"
like "$ERR" "$ID" "the error names the id"
capture cv destroy "$ID"
is "$RC" 125 "destroying it again -> 125"
no_leaks "create/exec/destroy"

# ---- a generated id
section "a generated id"
CV_KEEP_GENERATED=1 capture cvcreate
is "$RC" 0 "create without --name"
gen=$OUT
[[ "$gen" =~ ^cv-[0-9a-f]{12}$ ]] && ok "the generated id looks like cv-<12 hex> ($gen)" || fail "generated id '$gen'"
[ -n "$gen" ] && [ "$(status_of "$gen")" = running ] && ok "the generated id $gen is listed running" ||
  fail "generated id '$gen' not listed"
capture cv exec "$gen" -- cvtest exit 0
is "$RC" 0 "exec into the generated id"
capture cv destroy "$gen"
is "$RC" 0 "destroy the generated id"
# the prefix-based checks cannot see this one: look for its own name
[ -z "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "$gen" 2>/dev/null)" ] &&
  ok "no cgroup named $gen is left" || fail "cgroups named $gen are left"
[ -z "$(grep -l -- "$gen" /proc/[0-9]*/cgroup 2>/dev/null)" ] &&
  ok "no process in $gen's cgroup is left" || fail "processes of $gen are left"
no_leaks "generated id"

# ---- the container outlives create's CLI; destroy --all
section "the container outlives create's CLI; destroy --all"
newid; a=$ID
newid; b=$ID
cvcreate --name "$a" >/dev/null && cvcreate --name "$b" >/dev/null
is "$(cv list -q | sort | tr '\n' ' ')" "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ')" "two containers listed"
init_a=$(cv list | awk -v id="$a" '$1 == id { print $3 }')
alive "$init_a" && ok "the init ($init_a) lives after create exited" || fail "init of $a is gone"
capture cv destroy --all
is "$RC" 0 "destroy --all"
[ "$RC" = 0 ] || note "destroy --all said: $ERR"
is "$(cv list -q)" "" "nothing listed after destroy --all"
wait_until 200 bash -c "! kill -0 $init_a 2>/dev/null" && ok "the init is gone" || fail "init $init_a still there"
no_leaks "destroy --all"

# ---- kill -9 the CLI of a run: stale state, gc
section "kill -9 the CLI of a run: stale state, gc"
newid
"$CONTAINERV" --runtime-dir "$RT" run --name "$ID" --lower "$CV_HELPER_LAYER" \
  --lower "$CV_DEFAULT_ROOTFS" -- cvtest sleep 100 >/dev/null 2>&1 &
pid=$!
BG_PIDS+=("$pid")
workload_running() { [ "$(status_of "$ID")" = running ] && [ "$(descendants "$pid" | wc -l)" -ge 2 ]; }
if wait_until 400 workload_running; then
  kids=$(descendants "$pid")
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  gone() { local k; for k in $kids; do alive "$k" && return 1; done; return 0; }
  wait_until 400 gone && ok "the container died with its killed CLI" ||
    fail "processes of the killed run still alive: $kids"
  st=$(status_of "$ID")
  # its state was written (it was listed running) and nobody removed it
  is "$st" stale "list shows the killed run as stale"
  capture cv exec "$ID" -- cvtest exit 0
  is "$RC" 125 "exec into a stale container -> 125"
  capture cv gc
  is "$RC" 0 "gc exits 0"
  is "$OUT" "removed 1 stale container(s)" "gc reports what it removed"
  is "$(status_of "$ID")" "" "gc removed it from the list"
  capture cv gc
  is "$OUT" "removed 0 stale container(s)" "a second gc finds nothing"
else
  fail "the background run never showed its workload running"
fi
no_leaks "kill -9 run + gc"

# ---- kill -9 an exec's CLI: the container keeps running
section "kill -9 an exec's CLI: the container keeps running"
newid
cvcreate --name "$ID" >/dev/null
"$CONTAINERV" --runtime-dir "$RT" exec "$ID" -- cvtest sleep 100 >/dev/null 2>&1 &
pid=$!
BG_PIDS+=("$pid")
exec_running() { [ "$(grep -l -- "$ID" /proc/[0-9]*/cgroup 2>/dev/null | wc -l)" -ge 2 ]; }
wait_until 400 exec_running || fail "the exec never started"
kill -9 "$pid"
wait "$pid" 2>/dev/null
is "$(status_of "$ID")" running "killing an exec's CLI leaves the container running"
capture cv exec "$ID" -- cvtest exit 5
is "$RC" 5 "and it still runs commands"
capture cv destroy "$ID"
is "$RC" 0 "destroy kills the orphaned exec'd process too"
no_leaks "kill -9 exec + destroy"

# ---- a signal sent to the container's init reaches the processes it runs
section "signal forwarding"
newid
cvcreate --name "$ID" >/dev/null
init_pid=$(cv list | awk -v id="$ID" '$1 == id { print $3 }')
"$CONTAINERV" --runtime-dir "$RT" exec "$ID" -- sh -c 'trap "exit 9" TERM; cvtest sleep 30 & wait' \
  >/dev/null 2>&1 &
pid=$!
BG_PIDS+=("$pid")
exec_running() { [ "$(grep -l -- "$ID" /proc/[0-9]*/cgroup 2>/dev/null | wc -l)" -ge 3 ]; }
wait_until 400 exec_running || fail "the exec never started"
kill -TERM "$init_pid"
wait "$pid"
is "$?" 9 "SIGTERM to the init (pid $init_pid) is forwarded to the exec'd shell, which exits 9"
capture cv destroy "$ID"
is "$RC" 0 "destroy after the forwarded signal"
no_leaks "signal forwarding"
