#!/usr/bin/env bash
# containerd drives containerv through its runc shim (ctr run --runc-binary,
# as Kubernetes' RuntimeClass would through the CRI): run with the exit
# status, a task that keeps running with exec and kill, and nothing left.
# containerd is started by the test on a socket, root and state in its own
# temporary directory (the native snapshotter: no mounts of its own); the
# image is an OCI layout made with umoci from the default rootfs.
. "$(dirname "$0")/lib.sh"

for p in containerd ctr containerd-shim-runc-v2 umoci; do
  command -v "$p" >/dev/null || { echo "1..0 # SKIP $p is missing (scripts/install-deps installs it)"; exit 77; }
done

CVTEST=$(dirname "$CV_HELPER_LAYER")/helper-layer/bin/cvtest
SOCK=$T/containerd.sock
cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
EOF
containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
CTD=$!
BG_PIDS+=("$CTD")
# the test's own containerd namespace: the shim names the cgroup /<namespace>/<id>
NS=${PFX}ns
c() { timeout -k 5 "$CV_TIMEOUT" ctr -a "$SOCK" -n "$NS" "$@"; }
run_opts=(--snapshotter native --runc-binary "$CONTAINERV" --runc-root "$T/oci")

echo "TAP version 13"
section "containerd's runc shim runs containerv"
wait_until 200 test -S "$SOCK"
umoci init --layout "$T/layout" && umoci new --image "$T/layout:t" &&
  umoci unpack --image "$T/layout:t" "$T/unpacked" >/dev/null &&
  cp -a "$CV_DEFAULT_ROOTFS/." "$T/unpacked/rootfs/" && cp "$CVTEST" "$T/unpacked/rootfs/bin/cvtest" &&
  umoci repack --image "$T/layout:t" "$T/unpacked" && (cd "$T/layout" && tar -cf "$T/image.tar" .)
is "$?" 0 "an OCI image layout from the default rootfs (umoci)"
capture c image import --snapshotter native --base-name localhost/cvt "$T/image.tar"
is "$RC" 0 "ctr image import"
IMG=localhost/cvt:t

capture c run --rm "${run_opts[@]}" "$IMG" "${PFX}a" /bin/sh -c 'echo "pid $$"; exit 5'
is "$RC" 5 "ctr run exits with the process's status"
is "$OUT" "pid 1" "the process is pid 1"

c run -d "${run_opts[@]}" "$IMG" "${PFX}b" /bin/sleep 300 >/dev/null
wait_until 200 sh -c "ctr -a '$SOCK' -n '$NS' task ls | grep -q '${PFX}b.*RUNNING'"
like "$(c task ls)" "RUNNING" "a detached task is RUNNING"
PID=$(c task ls | awk -v id="${PFX}b" '$1 == id { print $2 }')
is "$(cat "/proc/$PID/comm" 2>/dev/null)" sleep "the task's pid is the process"
like "$(cat "/proc/$PID/cgroup" 2>/dev/null)" ":/$NS/${PFX}b" "in the cgroup the shim names (linux.cgroupsPath /$NS/${PFX}b)"
is "$(jq -r .status <(timeout 10 "$CONTAINERV" --root "$T/oci/$NS" state "${PFX}b"))" running \
  "containerv's state under the shim's root agrees"
capture c task exec --exec-id e1 "${PFX}b" /bin/sh -c 'cat /proc/1/comm; exit 6'
is "$RC" 6 "task exec exits with the process's status"
is "$OUT" sleep "and runs beside pid 1"
c task kill -s SIGKILL "${PFX}b"
wait_until 200 sh -c "ctr -a '$SOCK' -n '$NS' task ls | grep -q '${PFX}b.*STOPPED'"
like "$(c task ls)" "STOPPED" "task kill: STOPPED"
c task rm "${PFX}b" >/dev/null
c container rm "${PFX}b" >/dev/null
is "$(c task ls -q | wc -l)" 0 "no task left"
is "$(ls -A "$T/oci/$NS" 2>/dev/null | grep -v -e '^lib$' -e '^seccomp$')$(ls -A "$T/oci/$NS/lib" 2>/dev/null)" "" \
  "nothing left in containerv's root"
kill "$CTD"
wait "$CTD" 2>/dev/null
is "$(pgrep -f -- "$T" | tr '\n' ' ')" "" "no shim or container process is left"
is "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -path "*/$NS/*" | head -3)" "" "the containers' cgroups are gone"
# the namespace's cgroup parent: containerv made it for the first task, and
# the last one's delete removed it (runc leaves it)
is "$(find /sys/fs/cgroup -maxdepth 2 -type d -name "$NS" | head -3)" "" "the namespace's cgroup parent is gone too"
no_leaks "containerd"
end_section
echo "1..$N"
[ "$FAILED" -eq 0 ]
