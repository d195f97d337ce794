#!/usr/bin/env bash
# `containerv bench` as a whole, with small counts: each benchmark runs,
# prints its table, writes JSON whose figures agree with themselves (sample
# counts, p50 <= p90 <= p99 within min..max, ratios of the p50s, a targets
# list of name/value/limit/holds) and an SVG; bad arguments are refused in
# one line before anything runs; nothing is left behind. No figure is held
# to a speed: that is the benchmark's job, not a test's.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

if ! command -v jq >/dev/null; then
  if [ -n "${CI:-}" ] && [ "$CI" != false ] && [ "$CI" != 0 ]; then
    fail "jq is missing (scripts/install-deps installs it)"
  else
    ok "# SKIP jq is missing (scripts/install-deps installs it)"
  fi
  exit 0
fi
leak_snap

# ---- startup
capture cv bench startup -n 5 --warmup 1 --modes floor,floor-ns,cold,cold-cli,pooled \
  --json "$T/s.json" --svg "$T/s.svg"
is "$RC" 0 "bench startup: exit 0"
like "$OUT" "ratios (p50):" "bench startup: a table with ratios"
for m in floor floor-ns cold cold-cli pooled; do
  grep -Eq "^$m +[0-9]" <<<"$OUT" && ok "startup table: a row for $m" || fail "startup table: no row for $m"
  n=$(jq --arg m "$m" '.modes[] | select(.name == $m) | .samples' "$T/s.json")
  is "$n" 5 "startup JSON: $m has 5 samples"
  jq -e --arg m "$m" '.modes[] | select(.name == $m) |
      (.samples_us | length) == .samples and .min_us <= .p50_us and .p50_us <= .p90_us and
      .p90_us <= .p99_us and .p99_us <= .max_us and .min_us > 0' "$T/s.json" >/dev/null &&
    ok "startup JSON: $m's percentiles are ordered and within min..max" ||
    fail "startup JSON: $m's figures disagree: $(jq -c --arg m "$m" '.modes[] | select(.name == $m) | del(.samples_us)' "$T/s.json")"
done
# a ratio is the quotient of the two p50s of this run
jq -e '(.modes | map({(.name): .p50_us}) | add) as $p |
       (.ratios["cold/floor"] - ($p.cold / $p.floor) | fabs) < 0.002' "$T/s.json" >/dev/null &&
  ok "startup JSON: cold/floor is cold's p50 over floor's" ||
  fail "startup JSON: cold/floor $(jq '.ratios["cold/floor"]' "$T/s.json") vs the p50s"
jq -e '.modes[] | select(.name == "cold") | .phases_us | length >= 5 and all(.[]; . >= 0)' "$T/s.json" >/dev/null &&
  ok "startup JSON: cold's phases" || fail "startup JSON: cold's phases $(jq -c '.modes[] | select(.name == "cold") | .phases_us' "$T/s.json")"
jq -e '.targets | length >= 1 and all(.[]; (.name | type) == "string" and (.value | type) == "number" and
       (.limit | type) == "number" and (.holds | type) == "boolean")' "$T/s.json" >/dev/null &&
  ok "startup JSON: a targets list of name, value, limit, holds" || fail "startup JSON: targets $(jq -c .targets "$T/s.json")"
# holds is what value and limit say (a "<=" target)
jq -e 'all(.targets[]; .holds == (.value <= .limit))' "$T/s.json" >/dev/null &&
  ok "startup JSON: each target's holds is value <= limit" || fail "startup JSON: a target's holds disagrees: $(jq -c .targets "$T/s.json")"
head -c 5 "$T/s.svg" | grep -q '<svg' && tail -c 10 "$T/s.svg" | grep -q '</svg>' &&
  ok "startup SVG: a whole svg document" || fail "startup SVG: $(head -c 80 "$T/s.svg")"
grep -q '>cold<\|>cold ' "$T/s.svg" && ok "startup SVG: names the cold mode" || fail "startup SVG: no cold label"

# cold-heap: cold from a process of its own holding the memory asked for
capture cv bench startup -n 3 --warmup 1 --modes cold,cold-heap --caller-heap 64M --json "$T/h.json"
is "$RC" 0 "bench startup cold-heap: exit 0"
like "$OUT" "holding 64 MiB of touched memory" "bench startup cold-heap: says how big the caller is"
jq -e '.caller_heap_bytes == 67108864 and any(.modes[]; .name == "cold-heap" and .samples == 3) and
       any(.targets[]; .name == "cold-heap p50 <= 1.15 x cold p50") and (.ratios["cold-heap/cold"] > 0)' \
  "$T/h.json" >/dev/null && ok "startup JSON: cold-heap's samples, ratio and target" ||
  fail "startup JSON (cold-heap): $(jq -c 'del(.modes[].samples_us)' "$T/h.json")"

# podman: podman run --rm with containerv and with runc, in the same run
if command -v podman >/dev/null && command -v runc >/dev/null; then
  before=$(ls -A /run/containerv-oci/lib 2>/dev/null | tr '\n' ' ')
  capture cv bench startup -n 2 --warmup 1 --modes podman,podman-runc --json "$T/p.json"
  is "$RC" 0 "bench startup podman modes: exit 0"
  jq -e 'any(.modes[]; .name == "podman" and .samples == 2) and any(.modes[]; .name == "podman-runc" and .samples == 2) and
         any(.targets[]; .name == "podman p50 <= 1.0 x podman-runc p50") and (.ratios["podman/podman-runc"] > 0)' \
    "$T/p.json" >/dev/null && ok "startup JSON: podman's two modes, their ratio and target" ||
    fail "startup JSON (podman): $(jq -c 'del(.modes[].samples_us)' "$T/p.json")"
  is "$(ls -A /run/containerv-oci/lib 2>/dev/null | tr '\n' ' ')" "$before" "podman's runs left no state in containerv's default root"
  capture cv bench startup -n 1 --warmup 0 --json "$T/d.json"
  jq -e '(.modes | length) > 5 and all(.modes[]; .name != "podman" and .name != "podman-runc")' "$T/d.json" >/dev/null &&
    ok "the default modes leave podman's out" || fail "default modes: $(jq -c '[.modes[].name]' "$T/d.json")"
else
  note "SKIP podman modes: podman or runc is missing (scripts/install-deps installs them)"
fi

# ---- throughput, memory, io
capture cv bench throughput -d 1 -c 2 --no-peers --json "$T/t.json"
is "$RC" 0 "bench throughput: exit 0"
jq -e '.concurrency == 2 and (.modes | length) >= 2 and
       all(.modes[]; .containers_per_s > 0 and .completed > 0)' "$T/t.json" >/dev/null &&
  ok "throughput JSON: every mode completed containers" || fail "throughput JSON: $(jq -c .modes "$T/t.json")"
jq -e 'any(.modes[]; .name == "floor-ns") and (.ratios["cold/floor-ns"] > 0) and
       any(.targets[]; .name == "floor-ns/cold <= 2.0 (cold >= 0.5 x floor-ns)") and
       any(.targets[]; .name == "floor/pooled <= 1.053 (pooled >= 0.95 x floor)")' "$T/t.json" >/dev/null &&
  ok "throughput JSON: floor-ns, cold/floor-ns and the issue's targets" ||
  fail "throughput JSON: $(jq -c '{modes: [.modes[].name], ratios, targets}' "$T/t.json")"
capture cv bench memory --containers 3 --no-peers --json "$T/m.json"
is "$RC" 0 "bench memory: exit 0"
# PSS is the containers' own; MemAvailable and the kernel's growth are
# system-wide deltas (docs/benchmarks.md), which with 3 containers are mostly
# the machine's noise and may be negative: only their presence is checked
jq -e '.containers == 3 and all(.modes[]; .pss_bytes_per_container > 0 and
       (.kernel_bytes_per_container | type) == "number" and (.bytes_per_container | type) == "number")' \
  "$T/m.json" >/dev/null && ok "memory JSON: PSS per container > 0, the system-wide deltas present" ||
  fail "memory JSON: $(jq -c .modes "$T/m.json")"
capture cv bench io --io-size 4M --json "$T/i.json"
is "$RC" 0 "bench io: exit 0"
jq -e '.bytes == 4194304 and any(.modes[]; .name == "container") and any(.modes[]; .name == "host") and
       all(.modes[]; .seq_read_mbps > 0 and .seq_write_mbps > 0 and .rand_read_mbps > 0 and .rand_write_mbps > 0)' \
  "$T/i.json" >/dev/null && ok "io JSON: container and host, four figures each" || fail "io JSON: $(jq -c .modes "$T/i.json")"
no_leaks "bench runs"

# ---- bad arguments: one line, exit 125, nothing run
section "bench refusals"
for bad in "startup -n 0" "startup --modes floor,nosuchmode" "startup --caller-heap 1K" "throughput -c 0" "memory --containers 0" \
  "io --io-size 12Q" "nosuchbench" "startup --json $T/no/such/dir/x.json"; do
  # shellcheck disable=SC2086
  capture cv bench $bad
  if [ "$RC" = 125 ] && [ "$NERR" = 1 ] && [ -z "$OUT" ]; then ok "bench $bad: refused in one line ($(err1))"; else fail "bench $bad # rc $RC, stdout '${OUT:0:80}', stderr '$ERR'"; fi
done
no_leaks "bench refusals"
