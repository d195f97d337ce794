#!/usr/bin/env bash
# The pool daemon's Prometheus endpoint (src/daemon/metrics_http.c): the
# exposition on the default Unix socket (<socket>.metrics), valid for
# promtool; errors for other paths and methods; then a real scrape by
# Debian's prometheus of a daemon listening on 127.0.0.1, its figures read
# back through Prometheus' own query API. Waits are bounded (a guard
# against hangs), never a pass/fail criterion.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

if ! command -v curl >/dev/null; then
  echo "1..0 # SKIP curl is not installed (scripts/install-deps installs it)"
  trap - EXIT
  rm -rf --one-file-system "$T"
  exit 77
fi

ST=$T/state
DPID=
tpl() { cv --state-dir "$ST" template "$@"; }

# start_daemon SOCKET ARGS...: returns once the daemon said ready (--ready-fd)
start_daemon() {
  local sock=$1 fifo=$T/ready.$RANDOM ch=
  shift
  mkfifo "$fifo"
  "$CONTAINERV" --state-dir "$ST" --runtime-dir "$RT" --socket "$sock" daemon \
    --id-prefix "${PFX}p" --ready-fd 3 "$@" 3>"$fifo" 2>>"$T/daemon.err" &
  DPID=$!
  BG_PIDS+=("$DPID")
  read -r -n 1 -t 60 ch <"$fifo"
  rm -f "$fifo"
  [ "$ch" = r ]
}
stop_daemon() {
  kill -TERM "$DPID"
  wait "$DPID"
  DRC=$?
}

capture tpl create web --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS"
is "$RC" 0 "template web"
leak_snap

# ---- the default endpoint: a Unix socket beside the daemon's
SOCK=$T/sock/d.sock
if start_daemon "$SOCK" --pool web=2; then
  ok "a daemon with a pool of 2"
  [ -S "$SOCK.metrics" ] && ok "the endpoint listens on $SOCK.metrics" || fail "no socket $SOCK.metrics"
  is "$(stat -c %a "$SOCK.metrics")" 600 "the endpoint's socket is 0600"
  M=$(curl -s --max-time 30 --unix-socket "$SOCK.metrics" http://localhost/metrics)
  like "$M" 'containerv_pool_size{pool="web"} 2' "the pool's size"
  like "$M" '# TYPE containerv_pool_hits_total counter' "a counter family"
  like "$M" 'containerv_containers 2' "the daemon's two containers"
  is "$(grep -c '^containerv_container_cpu_usage_seconds_total{id="' <<<"$M")" 2 "CPU time of each container"
  like "$M" '# TYPE containerv_container_memory_usage_bytes gauge' "a gauge family"
  if grep -q '"cgroup_version": 1' < <(cv stats --no-stream --interval 0.05 --format json 2>/dev/null); then
    is "$(grep -c 'pressure' <<<"$M")" 0 "cgroup v1: no pressure series at all (not a 0)"
  fi
  if command -v promtool >/dev/null; then
    capture promtool check metrics <<<"$M"
    is "$RC" 0 "promtool check metrics accepts the exposition${ERR:+: $ERR}"
  else
    ok "promtool # SKIP not installed"
  fi
  is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 --unix-socket "$SOCK.metrics" http://localhost/x)" 404 \
    "another path: 404"
  is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST --unix-socket "$SOCK.metrics" http://localhost/metrics)" \
    405 "POST: 405"
  stop_daemon
  is "$DRC" 0 "SIGTERM: exit 0"
  [ ! -e "$SOCK.metrics" ] && ok "the endpoint's socket is removed" || fail "$SOCK.metrics is left"
  is "$(ls -A "$T/sock")" "" "nothing left beside the sockets"
else
  fail "the daemon did not start: $(tail -1 "$T/daemon.err")"
fi

# ---- bad addresses: one line, exit 125, no daemon left
capture cv --state-dir "$ST" --runtime-dir "$RT" --socket "$T/bad/d.sock" daemon --pool web=1 --metrics nonsense
is "$RC" 125 "--metrics nonsense: exit 125"
like "$(err1)" "--metrics" "the error names --metrics"
capture cv --state-dir "$ST" --runtime-dir "$RT" --socket "$T/bad/d.sock" daemon --pool web=1 --metrics 127.0.0.1:0
is "$RC" 125 "--metrics with port 0: exit 125"
[ ! -e "$T/bad/d.sock" ] && ok "no socket left by a daemon that did not start" || fail "socket left"

# ---- a real scrape by Prometheus, of an endpoint on 127.0.0.1
if ! command -v prometheus >/dev/null; then
  ok "prometheus scrape # SKIP prometheus is not installed (scripts/install-deps installs it)"
  no_leaks "metrics endpoint"
  exit 0
fi
started=
for try in 1 2 3 4 5; do # a port that may be taken by someone else: try others
  PORT=$((20000 + (RANDOM % 20000)))
  if start_daemon "$T/tsock/d.sock" --pool web=2 --metrics "127.0.0.1:$PORT"; then
    started=1
    break
  fi
  wait "$DPID" 2>/dev/null
done
if [ -z "$started" ]; then
  fail "no daemon on a TCP endpoint: $(tail -1 "$T/daemon.err")"
else
  ok "a daemon with its endpoint on 127.0.0.1:$PORT"
  [ ! -e "$T/tsock/d.sock.metrics" ] && ok "no Unix endpoint when a TCP one is asked" || fail "unix endpoint too"
  PPORT=$((PORT + 1))
  cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: containerv
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
  prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
    --web.listen-address="127.0.0.1:$PPORT" >"$T/prometheus.log" 2>&1 &
  PROM=$!
  BG_PIDS+=("$PROM")
  query() { curl -s --max-time 10 "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1"; }
  got=
  for i in $(seq 1 600); do # up to 60 s: Prometheus starts, then scrapes every second
    got=$(query 'containerv_pool_size{pool="web"}')
    case "$got" in *'"value":['*'"2"]'*) break ;; esac
    sleep 0.1
  done
  like "$got" '"pool":"web"' "Prometheus scraped the pool's size"
  like "$got" '"2"]' "... and it is 2"
  like "$(query 'up{job="containerv"}')" '"1"]' "up{job=\"containerv\"} is 1"
  like "$(query 'count(containerv_container_cpu_usage_seconds_total)')" '"2"]' \
    "Prometheus has the CPU time of both containers"
  kill "$PROM"
  wait "$PROM" 2>/dev/null
  stop_daemon
  is "$DRC" 0 "the TCP daemon: SIGTERM, exit 0"
fi
rm -rf "$T/tsdb"
no_leaks "metrics endpoint"
