#!/usr/bin/env bash
# containerv stats and top: the table and the JSON of created containers, a
# stream that ends by itself when its container goes, the process list,
# bad input (one line, exit 125, nothing left). No figure is timed: the CPU
# share of a burner under --cpus 0.5 is only checked against the quota.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

leak_snap

# ---- bad input
capture cv stats --interval 0
is "$RC" 125 "stats --interval 0 -> 125"
is "$NERR" 1 "stats --interval 0: one line"
like "$ERR" "--interval" "the error names --interval"
capture cv stats --format xml
is "$RC" 125 "stats --format xml -> 125"
like "$ERR" "'xml'" "the error names the value"
capture cv stats --no-stream cvs-no-such
is "$RC" 125 "stats of a missing container -> 125"
is "$(err1)" "containerv: stats: no container 'cvs-no-such'" "stats names the missing id"
is "$OUT" "" "nothing on stdout"
capture cv stats --bogus
is "$RC" 125 "stats --bogus -> 125"
capture cv top
is "$RC" 125 "top without an id -> 125"
capture cv top cvs-no-such
is "$RC" 125 "top of a missing container -> 125"
is "$(err1)" "containerv: top: no container 'cvs-no-such'" "top names the missing id"
capture cv top a b
is "$RC" 125 "top with two ids -> 125"
capture cv stats --help
is "$RC" 0 "stats --help"
like "$OUT" "--no-stream" "stats --help tells the options"
capture cv help top
like "$OUT" "Usage: containerv top" "help top"

# ---- a table and JSON
newid
A=$ID
capture cvcreate --name "$A" --cpus 0.5 --memory 64M
is "$RC" 0 "create $A"
newid
B=$ID
capture cvcreate --name "$B"
capture cv stats --no-stream --interval 0.2 "$A" "$B"
is "$RC" 0 "stats --no-stream A B exits 0"
is "$(printf '%s\n' "$OUT" | head -1 | awk '{print $1, $2, $3}')" "ID CPU %" "the table's header"
is "$(printf '%s\n' "$OUT" | awk -v a="$A" '$1 == a' | wc -l)" 1 "a row for $A"
is "$(printf '%s\n' "$OUT" | awk -v b="$B" '$1 == b' | wc -l)" 1 "a row for $B"
like "$(printf '%s\n' "$OUT" | awk -v a="$A" '$1 == a')" "67.1MB" "$A's memory limit (64M) is shown"
capture cv stats --no-stream --interval 0.2
like "$OUT" "$A" "stats without ids lists $A"
like "$OUT" "$B" "stats without ids lists $B"

cv exec "$A" -- cvtest burn 4 >/dev/null &
BG_PIDS+=($!)
capture cv stats --no-stream --interval 1 --format json "$A"
is "$RC" 0 "stats --format json exits 0"
like "$OUT" "\"id\": \"$A\"" "the JSON names $A"
like "$OUT" '"ended": false' "the JSON says it runs"
cpu=$(printf '%s\n' "$OUT" | sed -n 's/.*"cpu_utilization_percent": \([0-9.e+-]*\).*/\1/p')
if [ -n "$cpu" ] && awk -v c="$cpu" 'BEGIN { exit !(c >= 0 && c <= 60) }'; then
  ok "a burner under --cpus 0.5: $cpu% (at most the quota)"
else
  fail "cpu_utilization_percent '$cpu' is not a number within [0, 60]"
fi
like "$OUT" '"memory_usage_bytes": ' "the JSON has memory_usage_bytes"
like "$OUT" '"interval_ns": ' "the JSON has the interval"
if printf '%s\n' "$OUT" | grep -q '"cgroup_version": 1'; then
  like "$OUT" '"cpu_pressure_some_avg10": null' "cgroup v1: no pressure figure, null rather than 0"
fi

# ---- top
capture cv top "$A"
is "$RC" 0 "top exits 0"
like "$(printf '%s\n' "$OUT" | head -1)" "COMMAND" "top's header"
is "$(printf '%s\n' "$OUT" | awk '$1 == 1 && /containerv-init/' | wc -l)" 1 "top lists the init as pid 1"
like "$OUT" "cvtest burn 4" "top lists the burner with its arguments"
capture cv top --json "$A"
like "$OUT" '"comm": "containerv-init"' "top --json"

# ---- a stream ends by itself when its container goes
newid
C=$ID
cvcreate --name "$C" >/dev/null
S=$T/stream.out
cv stats --interval 0.1 "$C" >"$S" 2>&1 &
SP=$!
wait_until 200 grep -q "$C" "$S" || fail "the stream printed no row"
cv destroy "$C" >/dev/null
if wait_until 600 bash -c "! kill -0 $SP 2>/dev/null"; then
  wait "$SP"
  is "$?" 0 "a stream of one container exits 0 when it is destroyed"
  like "$(tail -2 "$S")" "(ended)" "its last row says it ended"
else
  kill -9 "$SP"
  fail "the stream did not end after its container was destroyed"
fi

for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
BG_PIDS=()
cv destroy "$A" "$B" >/dev/null
no_leaks "stats and top"
