#!/usr/bin/env bash
# podman drives containerv as its OCI runtime (podman --runtime, through
# conmon): run with the exit status, -d, ps, exec (status, env), top, a
# terminal (-t: the console socket), --read-only with --tmpfs (tmpcopyup),
# --user, --memory and --pids-limit landing in the cgroup podman names,
# podman update, --pid container:ID and host, a pod (catatonit's namespaces
# shared: net, ipc, uts, pid), stop and rm; nothing left. Everything lives in this test's temporary directory:
# podman's storage and run root, containers.conf (the ulimits these
# machines allow: no CAP_SYS_RESOURCE, docs/testing.md), containerv's --root.
. "$(dirname "$0")/lib.sh"

command -v podman >/dev/null || { echo "1..0 # SKIP podman is missing (scripts/install-deps installs it)"; exit 77; }
command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ] ||
  { echo "1..0 # SKIP conmon is missing (scripts/install-deps installs it)"; exit 77; }

CVTEST=$(dirname "$CV_HELPER_LAYER")/helper-layer/bin/cvtest
ROOT=$T/oci
cat >"$T/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$T/containers.conf
# podman passes no --root to a runtime it does not know: a wrapper does
cat >"$T/runtime" <<EOF
#!/bin/sh
exec "$CONTAINERV" --root "$ROOT" "\$@"
EOF
chmod 755 "$T/runtime"
pm() {
  timeout -k 5 "$CV_TIMEOUT" podman --root "$T/storage" --runroot "$T/runroot" --storage-driver vfs \
    --tmpdir "$T/tmp" --runtime "$T/runtime" "$@"
}
mkdir -p "$T/tmp" "$T/img"
cp -a "$CV_DEFAULT_ROOTFS/." "$T/img/"
cp "$CVTEST" "$T/img/bin/cvtest"
IMG=localhost/containerv-test:1
# the container's cgroup: where podman's linux.cgroupsPath puts it
# (/libpod_parent/libpod-ID with the cgroupfs manager)
cg_dirs() { find /sys/fs/cgroup -maxdepth 4 -type d -name "libpod-$1" 2>/dev/null; }
cgroups_of() { cg_dirs "$1" | wc -l; }
# cg_read ID FILE...: the first of the files that one of its cgroup directories has
cg_read() {
  local id=$1 d f
  shift
  for d in $(cg_dirs "$id"); do for f in "$@"; do [ -f "$d/$f" ] && { cat "$d/$f"; return; }; done; done
}

echo "TAP version 13"
section "podman --runtime containerv"
if ! tar -C "$T/img" -c . | pm import - "$IMG" >/dev/null 2>"$T/import.err"; then
  fail "podman import: $(head -1 "$T/import.err")"
  echo "1..$N"
  exit 1
fi
ok "an image from the default rootfs (podman import)"

capture pm run --rm --network none "$IMG" /bin/sh -c 'echo "pid $$"; cat /proc/1/comm; exit 3'
is "$RC" 3 "run exits with the process's status"
is "$OUT" "pid 1
sh" "the process is pid 1 of its container"

CID=$(pm run -d --network none "$IMG" /bin/sleep 300)
is "$?" 0 "run -d"
is "$(pm inspect --format '{{.State.Status}}' "$CID")" running "inspect: running"
like "$(pm ps --format '{{.ID}} {{.Status}}')" "${CID:0:12} Up" "ps lists it up"
PID=$(pm inspect --format '{{.State.Pid}}' "$CID")
is "$(cat "/proc/$PID/comm")" sleep "inspect's pid is the process"
is "$(jq -r .status <(timeout 10 "$CONTAINERV" --root "$ROOT" state "$CID"))" running "containerv's state agrees"
isnt "$(cgroups_of "$CID")" 0 "the container is in the cgroup podman names (linux.cgroupsPath)"
capture pm exec "$CID" /bin/sh -c 'echo "in $(cat /proc/1/comm)"; exit 4'
is "$RC" 4 "exec exits with the process's status"
is "$OUT" "in sleep" "exec runs beside pid 1"
capture pm exec -e FOO=bar "$CID" /bin/sh -c 'echo $FOO'
is "$OUT" bar "exec -e"
capture pm exec "$CID" /no/such/program
isnt "$RC" 0 "exec of a missing program fails"
capture pm top "$CID"
like "$OUT" "sleep 300" "top"
# --pid container:ID (the path of that container's pid namespace) and --pid host (none in the config)
capture pm run --rm --network none --pid "container:$CID" "$IMG" /bin/sh -c 'cat /proc/1/comm'
is "$RC:$OUT" "0:sleep" "--pid container:ID: pid 1 is that container's process"
capture pm run --rm --network none --pid host "$IMG" /bin/sh -c "test -d /proc/$$ && echo host"
is "$RC:$OUT" "0:host" "--pid host: the host's processes"
pm rm -f -t 0 "$CID" >/dev/null
is "$?" 0 "rm -f"
is "$(cgroups_of "$CID")" 0 "its cgroup is gone"

capture pm run --rm -t --network none "$IMG" /bin/sh -c tty
like "$OUT" "/dev/pts/" "run -t: a terminal (conmon's console socket)"

capture pm run --rm --network none --read-only --tmpfs /scratch --user 1000:1000 "$IMG" \
  /bin/sh -c 'id -u; touch /scratch/x && echo tmpfs; touch /y 2>/dev/null || echo read-only; test -d /tmp && echo tmp'
is "$RC" 0 "--read-only --tmpfs --user"
is "$OUT" "1000
tmpfs
read-only
tmp" "the user, a writable tmpfs, a read-only root, podman's /tmp tmpfs (tmpcopyup)"

# a pod: its infra container (catatonit) holds the namespaces that its
# containers join by path (linux.namespaces[].path: net, ipc, uts, pid)
POD=${PFX}pod
capture pm pod create --name "$POD" --share net,ipc,uts,pid
is "$RC" 0 "pod create --share net,ipc,uts,pid"
[ "$RC" = 0 ] || note "$ERR"
P1=$(pm run -d --pod "$POD" "$IMG" /bin/sleep 300)
is "$?" 0 "run -d --pod"
P1PID=$(pm inspect --format '{{.State.Pid}}' "$P1")
capture pm run --rm --pod "$POD" "$IMG" /bin/sh -c 'cat /proc/1/comm; hostname; cvtest readlink /proc/self/ns/net; pidof sleep'
is "$RC" 0 "run --rm --pod"
is "$(echo "$OUT" | sed -n 1p)" catatonit "in the pod, pid 1 is the infra container's catatonit (a shared pid namespace)"
is "$(echo "$OUT" | sed -n 2p)" "$POD" "the pod's hostname (a shared UTS namespace)"
is "$(echo "$OUT" | sed -n 3p)" "$(readlink "/proc/$P1PID/ns/net")" "the network namespace of the pod's other container"
isnt "$(echo "$OUT" | sed -n 4p)" "" "the other container's sleep is visible"
capture pm pod rm -f -t 0 "$POD"
is "$RC" 0 "pod rm -f"
is "$(pm ps -a -q | wc -l)" 0 "no container of the pod is left"

CID=$(pm run -d --network none --memory 64m --pids-limit 50 "$IMG" /bin/sleep 300)
is "$(cg_read "$CID" memory.max memory.limit_in_bytes)" 67108864 "--memory 64m is the cgroup's limit"
is "$(cg_read "$CID" pids.max)" 50 "--pids-limit 50"
# podman update: the runtime's update --resources FILE
capture pm update --memory 96m --cpus 0.5 "$CID"
is "$RC" 0 "podman update (containerv update --resources)"
[ "$RC" = 0 ] || note "$ERR"
is "$(cg_read "$CID" memory.max memory.limit_in_bytes)" 100663296 "update --memory 96m is the cgroup's limit now"
like "$(cg_read "$CID" cpu.max cpu.cfs_quota_us)" "50000" "update --cpus 0.5: the quota is half the period"
is "$(cat "/proc/$(pm inspect --format '{{.State.Pid}}' "$CID")/comm")" sleep "the process runs on"
pm stop -t 1 "$CID" >/dev/null 2>&1
is "$(pm inspect --format '{{.State.Status}}' "$CID")" exited "stop: exited"
pm rm "$CID" >/dev/null
is "$(pm ps -a -q | wc -l)" 0 "no containers left in podman"
is "$(ls -A "$ROOT" 2>/dev/null | grep -v -e '^lib$' -e '^seccomp$')$(ls -A "$ROOT/lib" 2>/dev/null)" "" \
  "nothing left in containerv's --root"
is "$(pgrep -f -- "$T" | tr '\n' ' ')" "" "no process of this test's podman is left (conmon, the container)"
pm rmi -a -f >/dev/null 2>&1
no_leaks "podman"
end_section
echo "1..$N"
[ "$FAILED" -eq 0 ]
