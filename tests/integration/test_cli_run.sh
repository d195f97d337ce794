#!/usr/bin/env bash
# `containerv run`: isolation, the security baseline, exit codes and signals,
# fds, user/workdir/env, --read-only, volumes, the writable layer, limits.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

# ---- pid 1, hostname, network
section "isolation runs"
capture cvrun -- cvtest comm1
is "$RC" 0 "comm1 runs"
isnt "$OUT" cvtest "pid 1 is the container's init, not the workload"
[ -n "$OUT" ] && ok "pid 1 has a name ($OUT)" || fail "pid 1 has no comm"
capture cvrun -- cvtest pid
if [ "$RC" = 0 ] && [ "$OUT" -ge 2 ] 2>/dev/null && [ "$OUT" -le 10 ]; then
  ok "the workload's pid is small ($OUT): a fresh pid namespace"
else
  fail "the workload's pid # got '$OUT' (rc $RC)"
fi
capture cvrun -- cvtest ppid
is "$OUT" 1 "the workload's parent is the init"
newid
capture cvrun --name "$ID" -- cvtest hostname
is "$RC:$OUT" "0:$ID" "the hostname is the container's id"
isnt "$OUT" "$(hostname)" "the hostname is not the host's"
capture cvrun --hostname "box$$" -- cvtest hostname
is "$OUT" "box$$" "--hostname"
capture cvrun -- cvtest netdevs
is "$OUT" lo "the only network device is lo"
capture cvrun --network host -- cvtest netdevs
is "$RC:$OUT" "0:$("$CV_HELPER_LAYER/bin/cvtest" netdevs)" "--network host shares the host's devices"
# joining another container's namespaces (podman's ns:PATH)
newid
J=$ID
cvcreate --name "$J" >/dev/null
JP=$(cv list | awk -v id="$J" '$1 == id { print $3 }')
capture cvrun --network "ns:/proc/$JP/ns/net" --uts "ns:/proc/$JP/ns/uts" --ipc "ns:/proc/$JP/ns/ipc" -- \
  cvtest readlink /proc/self/ns/net
is "$RC:$OUT" "0:$(readlink /proc/$JP/ns/net)" "--network ns:PATH joins that network namespace"
capture cvrun --uts "ns:/proc/$JP/ns/uts" -- cvtest hostname
is "$RC:$OUT" "0:$J" "--uts ns:PATH: the joined namespace's hostname"
capture cvrun --pid "ns:/proc/$JP/ns/pid" -- /bin/sh -c 'cat /proc/1/comm; cvtest readlink /proc/self/ns/pid'
is "$RC:$OUT" "0:containerv-init
$(readlink /proc/$JP/ns/pid)" "--pid ns:PATH: the joined pid namespace, whose pid 1 is that container's init"
capture cvrun --pid host -- cvtest readlink /proc/self/ns/pid
is "$RC:$OUT" "0:$(readlink /proc/self/ns/pid)" "--pid host shares the host's pid namespace"
capture cvrun --pid "ns:/proc/$JP/ns/net" -- true
like "$RC:$(err1)" "125:containerv: validate: '/proc/$JP/ns/net' is not a pid namespace" "--pid ns: of another type is refused"
capture cvrun --ipc host -- cvtest readlink /proc/self/ns/ipc
is "$RC:$OUT" "0:$(readlink /proc/self/ns/ipc)" "--ipc host shares the host's IPC namespace"
capture cvrun --network ns:/etc/passwd -- true
is "$RC:$NERR" "125:1" "a path that is not a namespace: exit 125, one line"
like "$(err1)" "'/etc/passwd' is not a network namespace" "the line names the path"
capture cvrun --uts "ns:/proc/$JP/ns/net" -- true
like "$RC:$(err1)" "125:" "a namespace of another type is refused"
capture cvrun --ipc ns:relative -- true
like "$RC:$(err1)" "125:containerv: --ipc: not an absolute path 'relative'" "a relative ns: path is refused"
capture cvrun --uts bogus -- true
like "$RC:$(err1)" "125:containerv: --uts: unsupported value 'bogus'" "an unknown --uts value is refused"
cv destroy "$J" >/dev/null # the section checks that nothing is left

# ---- security baseline
capture cvrun -- cvtest capeff
is "$OUT" "$OCI_CAPS" "CapEff is the OCI default set"
capture cvrun -- cvtest capbnd
is "$OUT" "$OCI_CAPS" "CapBnd is the OCI default set"
capture cvrun -- cvtest nnp
is "$OUT" 1 "NoNewPrivs is set"
capture cvrun -- cvtest seccomp
is "$OUT" 2 "a seccomp filter is on"
for sc in keyctl unshare mount add_key bpf; do
  capture cvrun -- cvtest syscall "$sc"
  is "$OUT" EPERM "$sc fails with EPERM"
done
for sc in lsm_set_self_attr get_mempolicy socket-vsock; do
  capture cvrun -- cvtest syscall "$sc"
  is "$OUT" EPERM "$sc fails with EPERM (the allow list)"
done
capture cvrun -- cvtest syscall unknown
is "$OUT" ENOSYS "a number that names no system call fails with ENOSYS"
capture cvrun --security-opt seccomp=unconfined -- cvtest syscall keyctl
is "$OUT" OK "with seccomp=unconfined keyctl works (the probe can tell)"
capture cvrun --security-opt seccomp=unconfined -- cvtest syscall get_mempolicy
is "$OUT" OK "with seccomp=unconfined get_mempolicy works"
capture cvrun --security-opt seccomp=unconfined -- cvtest seccomp
is "$OUT" 0 "with seccomp=unconfined no filter is on"
capture cvrun --privileged -- cvtest capeff
is "$RC:$OUT" "0:$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)" "--privileged keeps the bounding set"

for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
  capture cvrun -- cvtest read "$p"
  if [ "$OUT" = 0 ] || { [ ! -e "$p" ] && [ "$OUT" = ENOENT ]; }; then
    ok "$p reads empty"
  else
    fail "$p is not masked # got '$OUT'"
  fi
done
capture cvrun -- cvtest write /proc/sysrq-trigger h
if [ -e /proc/sysrq-trigger ]; then
  is "$RC:$OUT" "1:EROFS" "/proc/sysrq-trigger is read-only"
else
  is "$RC:$OUT" "1:ENOENT" "/proc/sysrq-trigger: the host has none (no CONFIG_MAGIC_SYSRQ), nor the container"
fi
newid
capture cvrun --name "$ID" -- sh -c 'cvtest write /proc/sys/kernel/hostname evil; cvtest hostname'
is "$(echo $OUT)" "EROFS $ID" "/proc/sys is read-only: the write fails and the hostname stays"

# ---- fds
capture cvrun -- cvtest fds
is "$OUT" "0 1 2" "the workload has fds 0 1 2 only"
exec 7</etc/passwd 8>"$T/fd8" 9<"$T"
capture cvrun -- cvtest fds
is "$OUT" "0 1 2" "fds the CLI inherits (7 8 9) do not reach the workload"
capture cvrun -i -- cvtest fds </dev/null
is "$OUT" "0 1 2" "the same with -i"
exec 7<&- 8>&- 9<&-
# the CLI's cwd and environment stay on the host
capture bash -c 'cd "$1" && shift && "$@"' sh "$T" "$CONTAINERV" --runtime-dir "$RT" run \
  --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS" -- cvtest readlink /proc/self/cwd
is "$OUT" / "the CLI's cwd ($T) does not reach the workload"
CVT_SECRET=cvt-secret-$$ capture cvrun -- sh -c 'cat /proc/1/environ /proc/self/environ 2>/dev/null | tr "\0" "\n"'
case "$OUT" in *cvt-secret-$$*) fail "the CLI's environment is readable in the container" ;;
  *) ok "the CLI's environment is not readable in the container" ;; esac
# ptrace is allowed (as in Docker), so the init must not be traceable: it
# is not dumpable; a workload's own process is (the control)
capture cvrun -- sh -c 'sleep 100 & cvtest attach $!; kill $!'
like "$OUT" "OK " "a workload may ptrace its own process (control)"
capture cvrun -- cvtest attach 1
is "$OUT" "EPERM EPERM" "the init can be neither ptrace-attached nor read (process_vm_readv) by a root workload"
capture cvrun -- cvtest openw /proc/1/exe
if [ "$RC" = 1 ] && [[ "$OUT" =~ ^E[A-Z]+$ ]]; then ok "the init's executable cannot be opened for writing ($OUT)"; else fail "openw /proc/1/exe # rc $RC '$OUT'"; fi
no_leaks "isolation runs"

# ---- exit codes and signals
section "exit codes and signals"
capture cvrun -- cvtest exit 42
is "$RC" 42 "exit 42 -> 42"
capture cvrun -- cvtest exit 0
is "$RC" 0 "exit 0 -> 0"
capture cvrun -- cvtest signal KILL
is "$RC" 137 "killed by SIGKILL -> 137"
capture cvrun -- cvtest signal TERM
is "$RC" 143 "killed by SIGTERM -> 143"
capture cvrun -- sh -c 'exit 7'
is "$RC" 7 "busybox sh exit 7 -> 7"

newid
"$CONTAINERV" --runtime-dir "$RT" run --name "$ID" --lower "$CV_HELPER_LAYER" \
  --lower "$CV_DEFAULT_ROOTFS" -- cvtest sleep 30 >/dev/null 2>"$T/term.err" &
pid=$!
BG_PIDS+=("$pid")
sleeper_running() { grep -q -- "$ID" /proc/[0-9]*/cgroup 2>/dev/null && [ "$(status_of "$ID")" = running ] &&
  [ "$(descendants "$pid" | wc -l)" -ge 2 ]; }
if wait_until 400 sleeper_running; then
  kill -TERM "$pid"
  ( sleep 20; kill -9 "$pid" 2>/dev/null ) &
  wd=$!
  wait "$pid"
  rc=$?
  kill "$wd" 2>/dev/null; wait "$wd" 2>/dev/null
  is "$rc" 143 "SIGTERM to 'containerv run' reaches the workload (exit 143)"
else
  fail "the background run never showed its workload running"
fi
no_leaks "exit codes and signals"

# ---- user, workdir, env
section "user, workdir, env"
capture cvrun --user 1000:1000 -- cvtest uid
is "$OUT" 1000 "--user 1000:1000: uid"
capture cvrun --user 1000:1000 -- cvtest gid
is "$OUT" 1000 "--user 1000:1000: gid"
capture cvrun --user 1000:1000 -- cvtest groups
case "$OUT" in "" | 1000) ok "--user 1000:1000: no other groups ($OUT)" ;;
  *) fail "--user 1000:1000: groups # got '$OUT'" ;; esac
capture cvrun --user 1000:1000 -- cvtest capeff
is "$OUT" 0000000000000000 "--user 1000: no effective capabilities"
capture cvrun --workdir /tmp -- cvtest cwd
is "$OUT" /tmp "--workdir /tmp"
capture cvrun --env CVT_FOO=bar -- cvtest env CVT_FOO
is "$OUT" bar "--env CVT_FOO=bar"
CVT_FROM_HOST=inherited capture cvrun -e CVT_FROM_HOST -- cvtest env CVT_FROM_HOST
is "$OUT" inherited "-e NAME takes the CLI's value"
CVT_NOT_PASSED=x capture cvrun -- cvtest env CVT_NOT_PASSED
is "$RC:$ERR" "1:cvtest: CVT_NOT_PASSED is not set" "the CLI's environment does not leak in"
capture cvrun -- cvtest env PATH
like "$OUT" /bin "PATH is set"
capture cvrun -i -- cat <<<"through stdin"
is "$OUT" "through stdin" "-i passes stdin"
capture cvrun -- sh -c 'cat; echo "rc=$?"' <<<"not passed"
is "$OUT" "rc=0" "without -i stdin is /dev/null (cat ran and read nothing)"
no_leaks "user, workdir, env"

# ---- read-only, volumes
section "read-only, volumes"
capture cvrun --read-only -- cvtest write /x y
is "$OUT" EROFS "--read-only: / is not writable"
capture cvrun --read-only -- cvtest write /tmp/x y
is "$OUT" OK "--read-only: /tmp is writable"
mkdir -p "$T/vol-ro" "$T/vol-rw"
chmod 777 "$T/vol-rw"
echo "host file" >"$T/vol-ro/hello"
capture cvrun --volume "$T/vol-ro:/mnt/x:ro" -- cvtest cat /mnt/x/hello
is "$OUT" "host file" "--volume :ro shows the host's files"
capture cvrun --volume "$T/vol-ro:/mnt/x:ro" -- cvtest write /mnt/x/new data
is "$OUT" EROFS "--volume :ro is read-only"
is "$(ls "$T/vol-ro")" hello ":ro: nothing written on the host (the host dir holds only its own file)"
capture cvrun --volume "$T/vol-rw:/mnt/x:rw" -- cvtest write /mnt/x/new data
is "$OUT" OK "--volume :rw is writable"
is "$(cat "$T/vol-rw/new" 2>&1)" data ":rw: the write reached the host dir"
capture cvrun --volume "$T/vol-rw:/mnt/x" -- cvtest cat /mnt/x/new
is "$OUT" data "--volume without a mode is read-write"
no_leaks "read-only and volumes"

# ---- the writable layer: writes go to the upper dir, never to a lower
section "the writable layer"
fingerprint() { find "$1" -printf '%P %y %m %s %T@ %C@ %l\n' | sort | md5sum; }
fp_helper=$(fingerprint "$CV_HELPER_LAYER")
fp_rootfs=$(fingerprint "$CV_DEFAULT_ROOTFS")
capture cvrun -- sh -c 'exec >/dev/null; cvtest write /cvt-root-file x && cvtest write /bin/cvt-bin-file x &&
  echo changed >/etc/hostname && rm /etc/group && cvtest write /bin/cvtest.copy x && cat /etc/hostname >&2'
is "$RC" 0 "writes in /, /bin and /etc succeed in the container"
is "$ERR" changed "the container sees its own change"
for f in cvt-root-file bin/cvt-bin-file; do
  [ ! -e "$CV_HELPER_LAYER/$f" ] && [ ! -e "$CV_DEFAULT_ROOTFS/$f" ] &&
    ok "/$f is in no lower dir" || fail "/$f was written to a lower dir"
done
[ -e "$CV_DEFAULT_ROOTFS/etc/group" ] && ok "a deletion does not touch the lower" || fail "/etc/group deleted from the lower"
is "$(cat "$CV_DEFAULT_ROOTFS/etc/hostname")" containerv "the lower /etc/hostname is unchanged"
is "$(fingerprint "$CV_HELPER_LAYER")" "$fp_helper" "the helper layer is unchanged"
is "$(fingerprint "$CV_DEFAULT_ROOTFS")" "$fp_rootfs" "the default rootfs is unchanged"
capture cvrun -- cvtest read /cvt-root-file
is "$OUT" ENOENT "a new container does not see the old one's files"
capture cvrun -- cvtest cat /etc/hostname
is "$OUT" containerv "a new container has the lower's /etc/hostname"
no_leaks "writable layer"

# ---- limits
section "limits"
capture cvrun --memory 32M -- cvtest alloc 8
is "$RC" 0 "--memory 32M: 8 MiB is fine"
# with swap on, --memory alone lets it swap: no swap on top (memory + swap = 32M)
noswap=()
[ "$(grep -c '' /proc/swaps)" -gt 1 ] && noswap=(--memory-swap 32M)
capture cvrun --memory 32M "${noswap[@]}" -- cvtest alloc 200
is "$RC" 137 "--memory 32M ${noswap[*]}: allocating 200 MiB is OOM-killed (137)"
capture cvrun --pids 16 -- cvtest forkbomb 100
read -r forked errname <<<"$OUT"
if [ "${forked:-99}" -lt 16 ] 2>/dev/null && [ "${errname:-}" = EAGAIN ]; then
  ok "--pids 16 stops a fork bomb ($OUT)"
else
  fail "--pids 16 fork bomb # got '$OUT' (rc $RC), want fewer than 16 and EAGAIN"
fi
capture cvrun --pids 16 -- cvtest forkbomb 5
is "$OUT" "5 OK" "--pids 16 allows 5 forks"
no_leaks "limits"
