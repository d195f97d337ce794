#!/usr/bin/env bash
# containerv as an OCI runtime (runc's command line, docs/oci.md): spec and
# features; the lifecycle create, start, state, kill, delete with --pid-file
# and the process as pid 1; run's exit status; exec; hooks with the state on
# stdin; the console socket; seccomp, user, rlimits and capabilities from
# config.json; bad configs and bad calls get one line, exit 1 and leave
# nothing; a create killed mid-way is cleaned up by delete --force.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || { echo "1..0 # SKIP jq is missing (scripts/install-deps installs it)"; exit 77; }

ROOT=$T/oci # --root: the OCI state; <root>/lib is the library's runtime dir
oci() { timeout -k 5 "$CV_TIMEOUT" "$CONTAINERV" --root "$ROOT" "$@"; }
CVTEST=$(dirname "$CV_HELPER_LAYER")/helper-layer/bin/cvtest

# make_bundle DIR: a bundle whose rootfs is the default rootfs with cvtest,
# its config containerv's `spec` with no terminal, a writable root, the
# process given by the rest of the arguments
make_bundle() {
  local dir=$1
  shift
  mkdir -p "$dir/rootfs"
  cp -a "$CV_DEFAULT_ROOTFS/." "$dir/rootfs/"
  cp "$CVTEST" "$dir/rootfs/bin/cvtest"
  (cd "$dir" && oci spec) || return 1
  local args
  args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
  jq --argjson a "$args" '.process.terminal = false | .root.readonly = false | .process.args = $a' \
    "$dir/config.json" >"$dir/c" && mv "$dir/c" "$dir/config.json"
}
# edit DIR JQ-FILTER: change the bundle's config
edit() { jq "$2" "$1/config.json" >"$1/c" && mv "$1/c" "$1/config.json"; }
state_of() { oci state "$1" 2>/dev/null | jq -r .status; }
oci_left() { ls -A "$ROOT" 2>/dev/null | grep -v -e '^lib$' -e '^seccomp$' | tr '\n' ' '; ls -A "$ROOT/lib" 2>/dev/null | tr '\n' ' '; }

echo "TAP version 13"

# ------------------------------------------------------------ spec, features
section "spec and features"
mkdir -p "$T/s"
(cd "$T/s" && oci spec)
is "$(jq -r .ociVersion "$T/s/config.json")" "1.2.0" "spec writes a config.json of runtime-spec 1.2.0"
is "$(jq -r '.linux.namespaces | map(.type) | sort | join(",")' "$T/s/config.json")" "ipc,mount,network,pid,uts" \
  "spec's namespaces"
capture bash -c "cd '$T/s' && '$CONTAINERV' --root '$ROOT' spec"
is "$RC" 1 "spec refuses to overwrite config.json"
like "$(err1)" "config.json" "the error names the file"
capture oci features
is "$RC" 0 "features"
is "$(echo "$OUT" | jq -r '.hooks | length')" 6 "features lists the six hooks"
is "$(echo "$OUT" | jq -r '.linux.seccomp.enabled')" true "features: seccomp"
is "$(echo "$OUT" | jq -r '.linux.cgroup.systemd')" false "features: no systemd cgroups"
capture oci --systemd-cgroup state x
is "$RC" 1 "--systemd-cgroup is refused"
like "$(err1)" "systemd-cgroup" "with its name"

# ------------------------------------------------------------ lifecycle
section "create, start, state, kill, delete"
B=$T/b1
make_bundle "$B" /bin/sh -c 'echo "pid $$"; cvtest comm1; exec sleep 100'
newid
oci create --bundle "$B" --pid-file "$T/b1.pid" "$ID" >"$T/b1.out" 2>"$T/b1.err"
is "$?" 0 "create"
is "$(state_of "$ID")" created "the state is created"
PID=$(cat "$T/b1.pid")
is "$(oci state "$ID" | jq -r .pid)" "$PID" "state's pid is the pid file's"
is "$(cat "/proc/$PID/comm")" containerv-init "before start the pid is the init holding the process"
is "$(oci state "$ID" | jq -r .bundle)" "$B" "state's bundle"
is "$(wc -c <"$T/b1.out")" 0 "nothing ran yet"
oci start "$ID"
is "$?" 0 "start"
wait_until 100 grep -q sleep "/proc/$PID/comm"
is "$(cat "/proc/$PID/comm")" sleep "after start the same pid is the process (it replaced the init)"
is "$(state_of "$ID")" running "the state is running"
is "$(head -1 "$T/b1.out")" "pid 1" "the process is pid 1 and writes to create's stdout"
is "$(sed -n 2p "$T/b1.out")" "sh" "pid 1 of the container is the process itself"
capture oci start "$ID"
is "$RC" 1 "a second start is refused"
capture oci delete "$ID"
is "$RC" 1 "delete of a running container without --force is refused"
like "$(err1)" "not stopped" "saying why"
is "$(oci ps --format json "$ID" | jq -r '.[0]')" "$PID" "ps --format json lists the process"
oci kill "$ID" KILL
wait_until 100 test "$(state_of "$ID")" = stopped
is "$(state_of "$ID")" stopped "kill: the container has stopped"
is "$(oci state "$ID" | jq -r .pid)" 0 "a stopped container's pid is 0"
capture oci kill "$ID"
is "$RC" 1 "kill of a stopped container is refused"
like "$(err1)" "not running" "saying so"
oci delete "$ID"
is "$?" 0 "delete"
capture oci state "$ID"
is "$RC" 1 "state after delete fails"
like "$(err1)" "does not exist" "naming it"
is "$(oci_left)" "" "no state is left under --root"
no_leaks "lifecycle"

section "delete of a created container, and kill before start"
newid
oci create --bundle "$B" "$ID" </dev/null >/dev/null 2>&1
oci delete "$ID"
is "$?" 0 "a created container is deleted without --force (as runc does)"
newid
oci create --bundle "$B" "$ID" </dev/null >/dev/null 2>&1
oci kill "$ID" TERM
wait_until 100 test "$(state_of "$ID")" = stopped
is "$(state_of "$ID")" stopped "TERM to a created container stops it"
oci delete "$ID"
capture oci delete "$ID"
is "$RC" 1 "delete of an unknown container fails"
capture oci delete --force "$ID"
is "$RC" 0 "delete --force of an unknown container succeeds (callers clean up so)"
is "$(oci_left)" "" "nothing is left under --root"
no_leaks "created and killed"

# ------------------------------------------------------------ run
section "run: the process's exit status, --keep"
B2=$T/b2
make_bundle "$B2" /bin/sh -c 'echo out; echo err >&2; exit 3'
newid
capture oci run --bundle "$B2" "$ID"
is "$RC" 3 "run exits with the process's status"
is "$OUT" out "its stdout"
is "$ERR" err "its stderr"
capture oci state "$ID"
is "$RC" 1 "run deleted the container"
edit "$B2" '.process.args = ["/bin/sleep", "100"]'
newid
oci run --bundle "$B2" "$ID" </dev/null >/dev/null 2>&1 &
RUN=$!
BG_PIDS+=("$RUN")
wait_until 200 test "$(state_of "$ID")" = running
oci kill "$ID" KILL
wait "$RUN"
is "$?" 137 "a process killed by SIGKILL: run exits 128 + 9"
edit "$B2" '.process.args = ["/bin/true"]'
newid
oci run --keep --bundle "$B2" "$ID" </dev/null
is "$(state_of "$ID")" stopped "run --keep leaves the stopped container"
oci delete "$ID"
is "$(oci_left)" "" "nothing is left under --root"
no_leaks "run"

# ------------------------------------------------------------ exec
section "exec"
B3=$T/b3
make_bundle "$B3" /bin/sleep 100
edit "$B3" '.process.env += ["FROM_CONFIG=yes"]'
newid
oci run -d --bundle "$B3" "$ID" </dev/null >/dev/null
is "$(state_of "$ID")" running "run -d leaves it running"
capture oci exec "$ID" /bin/sh -c 'echo "$FROM_CONFIG $EXTRA"; cat /proc/1/comm; exit 5'
is "$RC" 5 "exec exits with the process's status"
is "$OUT" "yes 
sleep" "exec has the config's environment and sees the container's pid 1"
capture oci exec -e EXTRA=more "$ID" /bin/sh -c 'echo "$EXTRA"'
is "$OUT" more "exec --env"
capture oci exec -u 1000:1000 "$ID" /bin/cvtest uid
like "$OUT" "1000" "exec --user"
oci exec -d --pid-file "$T/exec.pid" "$ID" /bin/sleep 100
EPID=$(cat "$T/exec.pid")
is "$(cat "/proc/$EPID/comm" 2>/dev/null)" sleep "exec -d --pid-file: the process runs"
is "$(readlink "/proc/$EPID/ns/pid")" "$(readlink "/proc/$(oci state "$ID" | jq -r .pid)/ns/pid")" \
  "in the container's pid namespace"
printf '{"args": ["/bin/sh", "-c", "ulimit -n"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512}]}' >"$T/proc.json"
capture oci exec --process "$T/proc.json" "$ID"
is "$OUT" 256 "exec --process FILE: its rlimits"
capture oci exec "$ID" /no/such/program
is "$RC" 1 "exec of a missing program fails"
like "$(err1)" "not found" "saying so"
capture oci exec "$ID"
is "$RC" 1 "exec without a command fails"
oci delete --force "$ID"
is "$(oci_left)" "" "nothing is left under --root"
no_leaks "exec"

# ------------------------------------------------------------ process settings
section "user, groups, rlimits, capabilities, no_new_privs, seccomp"
B4=$T/b4
make_bundle "$B4" /bin/sh -c 'id -u; id -G; ulimit -n; cvtest capeff; cvtest nnp; mkdir /tmp/x && echo made || echo refused'
edit "$B4" '.process.user = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}
  | .process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512}]
  | .process.capabilities = {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
      "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}
  | .process.noNewPrivileges = true
  | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
      "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
newid
capture oci run --bundle "$B4" "$ID"
is "$RC" 0 "run"
mapfile -t L <<<"$OUT"
is "${L[0]}" 1000 "process.user.uid"
is "${L[1]}" "1000 10 20" "the gid and additionalGids"
is "${L[2]}" 512 "process.rlimits"
is "${L[3]}" 0000000000000020 "process.capabilities: CAP_KILL only (ambient: a non-root user keeps it across exec)"
is "${L[4]}" 1 "noNewPrivileges"
is "${L[5]}" refused "linux.seccomp: mkdir gets EPERM"
edit "$B4" '.process.args = ["/bin/uname", "-m"] | del(.linux.seccomp) | .linux.personality = {"domain": "LINUX32"}'
newid
capture oci run --bundle "$B4" "$ID"
is "$OUT" i686 "linux.personality LINUX32: uname -m says i686"
no_leaks "process settings"

# ------------------------------------------------------------ hooks
section "hooks: the state on stdin, failures"
B5=$T/b5
make_bundle "$B5" /bin/true
cat >"$T/hook.sh" <<EOF
#!/bin/sh
cat > "$T/hook.\$1"
EOF
chmod 755 "$T/hook.sh"
jq --arg h "$T/hook.sh" '.hooks = {"createRuntime": [{"path": $h, "args": ["hook.sh", "create"]}],
  "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /started; echo >> /started; cvtest capeff >> /started"]}],
  "poststart": [{"path": $h, "args": ["hook.sh", "poststart"]}],
  "poststop": [{"path": $h, "args": ["hook.sh", "poststop"]}]}
  | .process.capabilities = {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}' \
  "$B5/config.json" >"$B5/c" && mv "$B5/c" "$B5/config.json"
newid
oci create --bundle "$B5" "$ID" </dev/null >/dev/null
is "$(jq -r .status "$T/hook.create")" created "createRuntime gets the state, status created"
is "$(jq -r .id "$T/hook.create")" "$ID" "with the id"
is "$(jq -r .pid "$T/hook.create")" "$(oci state "$ID" | jq -r .pid)" "and the pid"
oci start "$ID"
is "$(head -1 "$B5/rootfs/started" | jq -r .status)" created "startContainer runs in the container (its path, its root) with the state"
is "$(sed -n 2p "$B5/rootfs/started")" 0000000000000020 "as a process of the container: its capabilities, not the runtime's"
is "$(jq -r .status "$T/hook.poststart")" running "poststart runs after start"
wait_until 100 test "$(state_of "$ID")" = stopped
oci delete "$ID"
is "$(jq -r .status "$T/hook.poststop")" stopped "poststop runs at delete"
jq '.hooks = {"createRuntime": [{"path": "/bin/false"}]}' "$B5/config.json" >"$B5/c" && mv "$B5/c" "$B5/config.json"
newid
capture oci create --bundle "$B5" "$ID"
is "$RC" 1 "a failing createRuntime hook fails create"
like "$(err1)" "createRuntime" "naming the hook"
is "$(oci_left)" "" "and leaves nothing under --root"
no_leaks "hooks"

# ------------------------------------------------------------ console socket
section "terminal: the master over --console-socket"
B6=$T/b6
make_bundle "$B6" /bin/sh -c 'tty; echo on-the-tty'
edit "$B6" '.process.terminal = true'
"$CVTEST" recvtty "$T/console.sock" >"$T/console.out" 2>&1 &
RECV=$!
BG_PIDS+=("$RECV")
wait_until 100 test -S "$T/console.sock"
newid
capture oci create --bundle "$B6" --console-socket "$T/console.sock" "$ID"
is "$RC" 0 "create with a terminal and --console-socket # $(err1)"
oci start "$ID"
wait_until 200 grep -q on-the-tty "$T/console.out"
like "$(cat "$T/console.out")" "name /dev/pts/" "the receiver got the master, named /dev/pts/N"
like "$(cat "$T/console.out")" "on-the-tty" "and the process's output on it"
wait_until 100 test "$(state_of "$ID")" = stopped
oci delete --force "$ID"
kill "$RECV" 2>/dev/null
newid
capture oci create --bundle "$B6" "$ID"
is "$RC" 1 "terminal true without --console-socket is refused"
like "$(err1)" "console-socket" "naming the flag"
no_leaks "console socket"

# ------------------------------------------------------------ bad input
section "bad configs and calls: one line, exit 1, nothing left"
B7=$T/b7
make_bundle "$B7" /bin/true
cp "$B7/config.json" "$T/good.json"
bad_config() { # DESCRIPTION JQ-FILTER WANTED-IN-MESSAGE
  jq "$2" "$T/good.json" >"$B7/config.json"
  newid
  capture oci create --bundle "$B7" "$ID"
  is "$RC" 1 "$1: exit 1"
  is "$NERR" 1 "$1: one line"
  like "$(err1)" "$3" "$1: names it"
  is "$(oci_left)" "" "$1: nothing under --root"
}
bad_config "no args" '.process.args = []' "process.args"
bad_config "relative cwd" '.process.cwd = "tmp"' "process.cwd"
bad_config "wrong type" '.process.terminal = "yes"' "process.terminal"
bad_config "unknown namespace" '.linux.namespaces += [{"type": "bogus"}]' "bogus"
bad_config "unsupported mount type" '.mounts += [{"destination": "/x", "type": "nfs", "source": "h:/e"}]' "nfs"
bad_config "unknown rlimit" '.process.rlimits = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]' "RLIMIT_BOGUS"
bad_config "missing program" '.process.args = ["/no/such/program"]' "not found"
bad_config "missing rootfs" '.root.path = "/no/such/rootfs"' "rootfs"
bad_config "seccomp action" '.linux.seccomp = {"defaultAction": "SCMP_ACT_BOGUS"}' "SCMP_ACT_BOGUS"
bad_config "host mount namespace" '.linux.namespaces |= map(select(.type != "mount"))' "mount"
bad_config "joining a pid namespace that is not one" '.linux.namespaces |= map(if .type == "pid" then .path = "/proc/self/ns/net" else . end)' "not a pid namespace"
bad_config "a sysctl of the host's" '.linux.sysctl = {"kernel.core_pattern": "|/tmp/x"}' "kernel.core_pattern"
printf '{"ociVersion": "1.0.0", ' >"$B7/config.json"
newid
capture oci create --bundle "$B7" "$ID"
is "$RC" 1 "invalid JSON: exit 1"
like "$(err1)" "not valid JSON" "invalid JSON: says so"
cp "$T/good.json" "$B7/config.json"
newid
oci create --bundle "$B7" "$ID" </dev/null >/dev/null 2>&1
capture oci create --bundle "$B7" "$ID"
is "$RC" 1 "a taken id is refused"
like "$(err1)" "exists" "saying so"
oci delete --force "$ID"
capture oci create --bundle "$B7" "../bad"
is "$RC" 1 "an invalid id is refused"
capture oci create --bundle "$B7" lib
is "$RC" 1 "the id lib (a directory of --root) is refused"
capture bash -c "exec 3>&-; '$CONTAINERV' --root '$ROOT' create --preserve-fds 1 --bundle '$B7' ${PFX}pf"
is "$RC" 1 "--preserve-fds naming a closed fd is refused"
like "$(err1)" "fd 3 is not open" "naming the fd"
capture oci start no-such-container
is "$RC" 1 "start of an unknown container fails"
capture oci kill no-such-container
is "$RC" 1 "kill of an unknown container fails"
capture oci --log-format xml state x
is "$RC" 1 "a bad --log-format is refused"
capture oci --log "$T/oci.log" --log-format json create --bundle /no/such/bundle "${PFX}zz"
is "$RC" 1 "create of a missing bundle fails"
is "$(jq -r .level "$T/oci.log")" error "the error is in --log, as JSON (what conmon and containerd read)"
like "$(jq -r .msg "$T/oci.log")" "/no/such/bundle" "naming the bundle"
is "$(oci_left)" "" "nothing is left under --root"
no_leaks "bad input"

# ------------------------------------------------------------ linux.cgroupsPath
section "linux.cgroupsPath: the cgroup where the config says"
# cg_dir REL: the directory of the cgroup REL (below the hierarchy's root)
# that holds the memory controller's files
cg_dir() { if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo "/sys/fs/cgroup/$1"; else echo "/sys/fs/cgroup/memory/$1"; fi; }
mem_file() { if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo memory.max; else echo memory.limit_in_bytes; fi; }
# in_cgroup PID REL: /proc/PID/cgroup puts it at /REL
in_cgroup() { grep -qxE "(0::|[0-9]+:memory:)/$2" "/proc/$1/cgroup"; }
B9=$T/b9
make_bundle "$B9" /bin/sleep 100
CGTOP=${PFX}cgp
for kind in absolute relative; do
  newid
  if [ $kind = absolute ]; then GIVEN=/$CGTOP/pod/$ID REL=$CGTOP/pod/$ID; else GIVEN=$CGTOP/pod/$ID REL=containerv/$CGTOP/pod/$ID; fi
  edit "$B9" ".linux.cgroupsPath = \"$GIVEN\" | .linux.resources.memory.limit = 50331648 | .linux.resources.cpu.cpus = \"0\""
  oci create --bundle "$B9" --pid-file "$T/cg.pid" "$ID" </dev/null >/dev/null 2>&1
  is "$?" 0 "$kind cgroupsPath: create"
  P=$(cat "$T/cg.pid")
  ok_if in_cgroup "$P" "$REL" "$kind cgroupsPath: the container's process is in /$REL"
  is "$(cat "$(cg_dir "$REL")/$(mem_file)" 2>&1)" 50331648 "$kind cgroupsPath: the memory limit is there"
  is "$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$P/status")" 0 "$kind cgroupsPath: linux.resources.cpu.cpus \"0\" holds"
  oci start "$ID"
  oci pause "$ID"
  is "$(state_of "$ID")" paused "$kind cgroupsPath: pause freezes that cgroup"
  oci resume "$ID"
  is "$(state_of "$ID")" running "$kind cgroupsPath: resume"
  is "$(oci ps --format json "$ID" | jq -c .)" "[$P]" "$kind cgroupsPath: ps lists its processes"
  oci kill "$ID" KILL
  wait_until 100 test "$(state_of "$ID")" = stopped
  oci delete "$ID"
  is "$?" 0 "$kind cgroupsPath: delete"
  ok_if test ! -e "$(cg_dir "$REL")" "$kind cgroupsPath: delete removes the cgroup"
  ok_if test ! -e "$(cg_dir "${REL%/*}")" "$kind cgroupsPath: delete removes the parents it made too"
done
ok_if test ! -e "$(cg_dir "$CGTOP")" "no parent of the paths is left (runc would leave them)"
ok_if test ! -e "$(cg_dir "containerv/$CGTOP")" "no parent below containerv/ is left"
# an existing cgroup is not taken over; a bad path is refused
mkdir "$(cg_dir "${PFX}cgexist")"
newid
edit "$B9" ".linux.cgroupsPath = \"/${PFX}cgexist\""
capture oci create --bundle "$B9" "$ID"
is "$RC" 1 "a cgroupsPath that exists: exit 1"
like "$(err1)" "${PFX}cgexist' already exists" "naming the cgroup"
is "$(oci_left)" "" "nothing under --root"
ok_if test -d "$(cg_dir "${PFX}cgexist")" "the existing cgroup is left as it was"
rmdir "$(cg_dir "${PFX}cgexist")"
for bad in "/a/../b" "/"; do
  newid
  edit "$B9" ".linux.cgroupsPath = \"$bad\""
  capture oci create --bundle "$B9" "$ID"
  is "$RC" 1 "cgroupsPath '$bad': exit 1"
  like "$(err1)" "linux.cgroupsPath" "cgroupsPath '$bad': names the field"
done
is "$(oci_left)" "" "nothing is left under --root"
no_leaks "cgroupsPath"

section "pid namespaces: the host's (hostPID) and a joined one (a pod's)"
B12=$T/b12
make_bundle "$B12" /bin/sleep 100
newid
PODID=$ID
oci create --bundle "$B12" --pid-file "$T/pod.pid" "$PODID" </dev/null >/dev/null 2>&1
oci start "$PODID"
POD=$(cat "$T/pod.pid")
# joined: the pod's process is pid 1 for the new container too
make_bundle "$T/b13" /bin/sh -c 'cat /proc/1/comm; echo $$'
edit "$T/b13" ".linux.namespaces |= map(if .type == \"pid\" then .path = \"/proc/$POD/ns/pid\" else . end)"
newid
capture oci run --bundle "$T/b13" "$ID"
is "$RC" 0 "run in a joined pid namespace"
is "$(echo "$OUT" | head -1)" sleep "pid 1 there is the pod's process"
isnt "$(echo "$OUT" | sed -n 2p)" 1 "the container's process is not pid 1"
# exec into a container of the shared namespace sees the pod too
make_bundle "$T/b14" /bin/sleep 100
edit "$T/b14" ".linux.namespaces |= map(if .type == \"pid\" then .path = \"/proc/$POD/ns/pid\" else . end)"
newid
SIDE=$ID
oci create --bundle "$T/b14" --pid-file "$T/side.pid" "$SIDE" </dev/null >/dev/null 2>&1
oci start "$SIDE"
is "$(readlink "/proc/$(cat "$T/side.pid")/ns/pid")" "$(readlink "/proc/$POD/ns/pid")" "the same pid namespace as the pod's process"
capture oci exec "$SIDE" /bin/cat /proc/1/comm
is "$OUT" sleep "exec there sees the pod's pid 1"
oci kill "$SIDE" KILL
wait_until 100 test "$(state_of "$SIDE")" = stopped
oci delete "$SIDE"
ok_if kill -0 "$POD" "the pod's process lives on after the container that joined it"
oci delete --force "$PODID"
# the host's: no pid namespace in the config
make_bundle "$T/b15" /bin/sh -c 'echo $$; test -d /proc/'$$' && echo sees-the-host'
edit "$T/b15" '.linux.namespaces |= map(select(.type != "pid"))'
newid
capture oci run --bundle "$T/b15" "$ID"
is "$RC" 0 "run in the host's pid namespace"
isnt "$(echo "$OUT" | head -1)" 1 "its process is not pid 1"
is "$(echo "$OUT" | sed -n 2p)" sees-the-host "its /proc shows the host's processes"
is "$(oci_left)" "" "nothing is left under --root"
no_leaks "pid namespaces"

section "update: the resource limits of a running container"
V2=false
[ -f /sys/fs/cgroup/cgroup.controllers ] && V2=true
# cgf ID V1-CONTROLLER V1-FILE V2-FILE: a file of the container's cgroup (containerv/ID)
cgf() { if $V2; then cat "/sys/fs/cgroup/containerv/$1/$4"; else cat "/sys/fs/cgroup/$2/containerv/$1/$3"; fi; }
mem() { cgf "$1" memory memory.limit_in_bytes memory.max; }
pids() { cgf "$1" pids pids.max pids.max; }
quota() { if $V2; then cgf "$1" cpu - cpu.max; else echo "$(cgf "$1" cpu cpu.cfs_quota_us -) $(cgf "$1" cpu cpu.cfs_period_us -)"; fi; }
B11=$T/b11
make_bundle "$B11" /bin/sleep 100
edit "$B11" '.linux.resources.memory.limit = 67108864 | .linux.resources.pids.limit = 40'
newid
oci create --bundle "$B11" --pid-file "$T/up.pid" "$ID" </dev/null >/dev/null 2>&1
is "$?" 0 "update: a container with a memory and a pids limit"
capture oci update --memory 96m --pids-limit 60 "$ID"
is "$RC" 0 "update a created container (flags)"
is "$(mem "$ID")" 100663296 "update --memory 96m"
is "$(pids "$ID")" 60 "update --pids-limit 60"
oci start "$ID"
capture oci update --cpu-quota 25000 --cpu-period 50000 "$ID"
is "$RC" 0 "update a running container"
is "$(quota "$ID")" "25000 50000" "update --cpu-quota 25000 --cpu-period 50000"
capture oci update --cpu-period 100000 "$ID"
is "$(quota "$ID")" "25000 100000" "a period alone keeps the quota"
capture oci update --cpu-quota -1 "$ID"
if $V2; then want="max 100000"; else want="-1 100000"; fi
is "$(quota "$ID")" "$want" "--cpu-quota -1 lifts the quota"
# the resources as containerd's shim and podman send them: a file or stdin
printf '{"memory": {"limit": 134217728}, "pids": {"limit": -1}, "cpu": {"shares": 512}}' >"$T/res.json"
capture oci update --resources "$T/res.json" "$ID"
is "$RC" 0 "update --resources FILE"
is "$(mem "$ID")" 134217728 "memory.limit from the file"
is "$(pids "$ID")" max "pids.limit -1 lifts the limit"
if $V2; then want=$((1 + (512 - 2) * 9999 / 262142)); else want=512; fi
is "$(cgf "$ID" cpu cpu.shares cpu.weight)" "$want" "cpu.shares from the file (v2: as a weight)"
capture sh -c "echo '{\"memory\": {\"limit\": 50331648}}' | timeout 10 '$CONTAINERV' --root '$ROOT' update -r - --memory 40m '$ID'"
is "$RC" 0 "update -r - (stdin) with a flag"
is "$(mem "$ID")" 41943040 "the flag wins over the file"
if ! $V2 && [ -f "/sys/fs/cgroup/memory/containerv/$ID/memory.memsw.limit_in_bytes" ]; then
  capture oci update --memory 64m --memory-swap 128m "$ID"
  is "$RC" 0 "update memory and memory+swap"
  capture oci update --memory 256m --memory-swap 512m "$ID"
  is "$RC" 0 "raising memory above the memory+swap in force (memsw goes first)"
  is "$(cgf "$ID" memory memory.memsw.limit_in_bytes -)" 536870912 "memory+swap 512m"
  is "$(mem "$ID")" 268435456 "memory 256m"
fi
# bad input: one line, exit 1, the limits as they were
BEFORE="$(mem "$ID") $(pids "$ID")"
for bad in "--memory abc|--memory" "--memory 64m --memory-swap 32m|below the memory limit" \
  "--pids-limit x|--pids-limit" "--blkio-weight 100|not supported" "|nothing to change" \
  "--cpu-period 10|--cpu-period"; do
  args=${bad%%|*} want=${bad#*|}
  # shellcheck disable=SC2086
  capture oci update $args "$ID"
  is "$RC" 1 "update ${args:-(no limit)}: exit 1"
  is "$NERR" 1 "update ${args:-(no limit)}: one line"
  like "$ERR" "$want" "update ${args:-(no limit)}: names it"
done
echo '{"memory": {"limit": "big"}}' >"$T/bad.json"
capture oci update --resources "$T/bad.json" "$ID"
is "$RC" 1 "a resources file with a bad field: exit 1"
like "$ERR" "memory.limit" "naming the field"
is "$(mem "$ID") $(pids "$ID")" "$BEFORE" "a refused update changes nothing"
capture oci update --memory 64m "${PFX}nosuch"
is "$RC" 1 "update of a container that does not exist: exit 1"
like "$ERR" "does not exist" "says so"
oci kill "$ID" KILL
wait_until 100 test "$(state_of "$ID")" = stopped
capture oci update --memory 64m "$ID"
is "$RC" 1 "update of a stopped container: exit 1"
like "$ERR" "stopped" "says so"
oci delete "$ID"
is "$(oci_left)" "" "nothing is left under --root"
no_leaks "update"

section "linux.resources.devices: the device controller"
B10=$T/b10
# cvtest openr: OK, or the errno's name: EPERM is the device controller's
# refusal (a kernel without the loop driver says ENXIO for an allowed open)
make_bundle "$B10" /bin/sh -c 'mknod /devtest/loop b 7 0 && cvtest openr /devtest/loop 2>/dev/null; head -c1 /dev/zero | wc -c'
caps='["CAP_MKNOD","CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]'
edit "$B10" ".mounts += [{\"destination\": \"/devtest\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"rw\"]}]
  | .process.capabilities.bounding = $caps | .process.capabilities.effective = $caps | .process.capabilities.permitted = $caps
  | .linux.resources.devices = [{\"allow\": false, \"access\": \"rwm\"}]"
newid
capture oci run --bundle "$B10" "$ID"
is "$RC" 0 "run with a deny-all device rule"
is "$OUT" "EPERM
1" "a node the rules do not allow cannot be opened; /dev/zero (runc's defaults) can"
edit "$B10" ".linux.resources.devices = [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"b\", \"major\": 7, \"access\": \"r\"}]"
newid
capture oci run --bundle "$B10" "$ID"
ok_if grep -qxE 'OK|ENXIO|ENODEV' <<<"$(echo "$OUT" | head -1)" "an allow rule for b 7:* r lets it be read (got: $(echo "$OUT" | head -1))"
edit "$B10" ".linux.resources.devices = [{\"allow\": true, \"type\": \"x\", \"access\": \"r\"}]"
newid
capture oci create --bundle "$B10" "$ID"
is "$RC:$NERR" "1:1" "a rule of type x: refused in one line"
like "$(err1)" "linux.resources.devices[0].type" "naming the field"
is "$(oci_left)" "" "nothing is left under --root"
no_leaks "device rules"

# ------------------------------------------------------------ a killed create
section "a create killed mid-way is cleaned up by delete --force"
B8=$T/b8
make_bundle "$B8" /bin/sleep 100
newid
edit "$B8" ".linux.cgroupsPath = \"/${PFX}cgkill/$ID\""
CONTAINERV_FAULT=pause:cgroup.attach timeout 60 "$CONTAINERV" --root "$ROOT" create --bundle "$B8" "$ID" \
  </dev/null >/dev/null 2>&1 &
CPID=$!
BG_PIDS+=("$CPID")
wait_until 200 any_paused "$CPID" $(descendants "$CPID")
is "$(state_of "$ID")" creating "while create runs the state is creating"
kill -9 "$CPID" $(descendants "$CPID") 2>/dev/null
wait "$CPID" 2>/dev/null
wait_until 100 test "$(state_of "$ID")" = stopped
is "$(state_of "$ID")" stopped "once its create is killed it is stopped"
oci delete --force "$ID"
is "$?" 0 "delete --force"
is "$(oci_left)" "" "nothing is left under --root or the library's dir"
ok_if test ! -e "$(cg_dir "${PFX}cgkill/$ID")" "nor its cgroup at the config's cgroupsPath"
ok_if test ! -e "$(cg_dir "${PFX}cgkill")" "nor the parent that path made"
no_leaks "killed create"

end_section
echo "1..$N"
[ "$FAILED" -eq 0 ]
