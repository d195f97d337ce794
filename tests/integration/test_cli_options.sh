#!/usr/bin/env bash
# The CLI's options that no other test drove: --version and --help on every
# verb and alias, run --rm, --metrics and --metrics-json, a terminal for run
# -t and exec -t, exec -i, destroy --force, --cpus, --cpu-shares and
# --memory-swap as the cgroup files hold them, --cap-add ALL, every
# --security-opt, --privileged, and the device defence (a node made with
# CAP_MKNOD cannot be opened). Each check has a positive control: the
# container ran, and the thing looked at exists.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

leak_snap

# ---- --version, --help, aliases
capture cv --version
is "$RC" 0 "--version exits 0"
if [[ "$OUT" =~ ^containerv\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then ok "--version prints '$OUT'"; else fail "--version # got '$OUT'"; fi
declare -A verb_of=([run]=run [create]=create [exec]=exec [list]=list [ls]=list [ps]=list
  [destroy]=destroy [rm]=destroy [gc]=gc [bench]=bench [template]=template [daemon]=daemon [pool]=pool)
for v in "${!verb_of[@]}"; do
  capture cv "$v" --help
  if [ "$RC" = 0 ] && [[ "${OUT%%$'\n'*}" == Usage:*" ${verb_of[$v]}"* ]] && [ "$NERR" = 0 ]; then
    ok "$v --help: usage of ${verb_of[$v]} on stdout, exit 0"
  else
    fail "$v --help # rc $RC, first line '${OUT%%$'\n'*}', stderr '$(err1)'"
  fi
  capture cv "$v" --no-such-option
  if [ "$RC" = 125 ] && [ "$NERR" = 1 ] && [[ "$ERR" == *no-such-option* ]]; then
    ok "$v --no-such-option: one line naming it, exit 125"
  else
    fail "$v --no-such-option # rc $RC, stderr '$ERR'"
  fi
done
capture cv --help
is "$RC" 0 "containerv --help exits 0"
for v in run create exec list destroy gc bench template daemon pool; do
  like "$OUT" "  $v " "containerv --help lists $v"
done

newid
capture cvcreate --name "$ID"
is "$RC" 0 "create $ID"
for alias in ls ps list; do
  capture cv "$alias"
  like "$OUT" "$ID" "'$alias' lists $ID"
done
capture cv rm "$ID"
is "$OUT" "$ID" "'rm' removes $ID (and prints its id)"
is "$(status_of "$ID")" "" "after 'rm' $ID is not listed"

# ---- run --rm, --metrics, --metrics-json
newid
capture cvrun --rm --name "$ID" -- cvtest exit 3
is "$RC" 3 "run --rm: the command's exit code"
is "$(status_of "$ID")" "" "run --rm: the container is gone"
newid
capture cvrun --name "$ID" --metrics --metrics-json "$T/m.json" -- cvtest ppid
is "$OUT" 1 "--metrics: the command ran"
like "$ERR" "startup metrics of $ID" "--metrics prints the breakdown on stderr"
for f in total_startup layer_mount namespace_setup security_setup resource_alloc first_process; do
  if grep -Eq "^  $f +[0-9]+\.[0-9]{3}$" <<<"$ERR"; then ok "--metrics: $f in µs"; else fail "--metrics: no $f line # $ERR"; fi
  if grep -Eq "\"${f}_ns\": [1-9][0-9]*" "$T/m.json"; then ok "--metrics-json: ${f}_ns > 0"; else fail "--metrics-json: ${f}_ns # $(cat "$T/m.json" 2>&1)"; fi
done
grep -q "\"id\": \"$ID\"" "$T/m.json" && ok "--metrics-json names $ID" || fail "--metrics-json id # $(cat "$T/m.json")"
capture cvrun --metrics-json "$T/no/such/dir/m.json" -- cvtest ppid
is "$RC:$OUT" "125:" "--metrics-json into a missing directory fails before anything runs"
like "$(err1)" "$T/no/such/dir/m.json" "... with a line naming the file"
capture cvrun --metrics-json "$T/m2.json" --rootfs "$T/no-such-rootfs" -- cvtest ppid
is "$RC" 125 "a create that fails with --metrics-json: exit 125"
[ ! -e "$T/m2.json" ] && ok "... and no metrics file is left" || fail "an empty $T/m2.json was left"

# ---- terminals: run -t, exec -t, exec -i
if command -v script >/dev/null; then
  tty_probe='if test -t 0 && test -t 1; then echo TTY; else echo NOTTY; fi'
  newid
  capture script -qec "$CONTAINERV --runtime-dir $RT run --name $ID -t --lower $CV_HELPER_LAYER --lower $CV_DEFAULT_ROOTFS -- sh -c '$tty_probe'" /dev/null
  like "$OUT" TTY "run -t: the command is on a terminal"
  case "$OUT" in *NOTTY*) fail "run -t: NOTTY # $OUT" ;; *) ok "run -t: not NOTTY" ;; esac
  newid
  capture script -qec "$CONTAINERV --runtime-dir $RT run --name $ID --lower $CV_HELPER_LAYER --lower $CV_DEFAULT_ROOTFS -- sh -c '$tty_probe'" /dev/null
  like "$OUT" NOTTY "run without -t under a terminal: the command is not on one (control)"
  newid
  capture cvcreate --name "$ID"
  is "$RC" 0 "create $ID for exec"
  capture script -qec "$CONTAINERV --runtime-dir $RT exec -t $ID sh -c '$tty_probe'" /dev/null
  case "$OUT" in *NOTTY*) fail "exec -t # $OUT" ;; *TTY*) ok "exec -t: the command is on a terminal" ;; *) fail "exec -t # '$OUT'" ;; esac
  capture script -qec "$CONTAINERV --runtime-dir $RT exec $ID sh -c '$tty_probe'" /dev/null
  like "$OUT" NOTTY "exec without -t: no terminal (control)"
else
  note "script(1) is missing: run -t and exec -t not tested"
  newid
  capture cvcreate --name "$ID"
fi
capture bash -c "echo piped-in | $CONTAINERV --runtime-dir $RT exec -i $ID cat"
is "$OUT" piped-in "exec -i: the command reads this stdin"
capture bash -c "echo piped-in | $CONTAINERV --runtime-dir $RT exec $ID cat"
is "$RC:$OUT" "0:" "exec without -i: the command reads /dev/null"

# ---- destroy --force / -f
capture cv destroy --force "$ID"
is "$RC:$OUT" "0:$ID" "destroy --force $ID"
is "$(status_of "$ID")" "" "after destroy --force $ID is gone"
newid
cvcreate --name "$ID" >/dev/null
capture cv destroy -f "$ID"
is "$RC:$OUT" "0:$ID" "destroy -f $ID"
no_leaks "verbs"

# ---- --cpus, --cpu-shares, --memory-swap: the cgroup files
section "cgroup options"
cgfile() { # ID V1_CTRL V1_FILE V2_FILE: the value, or "missing"
  local d=/sys/fs/cgroup/containerv/$1
  if [ -d "$d" ]; then cat "$d/$4" 2>/dev/null || echo missing; else cat "/sys/fs/cgroup/$2/containerv/$1/$3" 2>/dev/null || echo missing; fi
}
v2=0
[ -f /sys/fs/cgroup/cgroup.controllers ] && v2=1
newid
capture cvcreate --name "$ID" --cpus 0.5 --cpu-shares 1024 -m 32M --memory-swap 96M
if [ "$RC" != 0 ] && [[ "$ERR" == *"swap accounting"* ]]; then
  note "no swap accounting on this host: --memory-swap left out"
  capture cvcreate --name "$ID" --cpus 0.5 --cpu-shares 1024 -m 32M
  swap=0
else
  swap=1
fi
is "$RC" 0 "create with --cpus 0.5 --cpu-shares 1024 -m 32M"
capture cv exec "$ID" cvtest ppid
is "$OUT" 1 "the limited container runs"
# docker's shares 2..262144 to v2's weight 1..10000 (and back on v1), as crun converts
weight=$((1 + ((1024 - 2) * 9999) / 262142))
if [ $v2 = 1 ]; then
  is "$(cgfile "$ID" - - cpu.max)" "50000 100000" "--cpus 0.5: cpu.max"
  is "$(cgfile "$ID" - - cpu.weight)" "$weight" "--cpu-shares 1024: cpu.weight $weight"
  is "$(cgfile "$ID" - - memory.max)" $((32 << 20)) "-m 32M: memory.max"
  [ $swap = 1 ] && is "$(cgfile "$ID" - - memory.swap.max)" $((64 << 20)) "--memory-swap 96M: memory.swap.max is the swap part"
else
  is "$(cgfile "$ID" cpu cpu.cfs_quota_us -)" 50000 "--cpus 0.5: cfs_quota_us"
  is "$(cgfile "$ID" cpu cpu.cfs_period_us -)" 100000 "--cpus 0.5: cfs_period_us"
  is "$(cgfile "$ID" cpu cpu.shares -)" 1024 "--cpu-shares 1024: cpu.shares as given (no round trip through the v2 weight)"
  is "$(cgfile "$ID" memory memory.limit_in_bytes -)" $((32 << 20)) "-m 32M: memory.limit_in_bytes"
  [ $swap = 1 ] && is "$(cgfile "$ID" memory memory.memsw.limit_in_bytes -)" $((96 << 20)) "--memory-swap 96M: memsw"
fi
cv destroy "$ID" >/dev/null
newid
capture cvcreate --name "$ID"
if [ $v2 = 1 ]; then
  is "$(cgfile "$ID" - - cpu.max)" "max 100000" "no --cpus: no quota (control)"
else
  is "$(cgfile "$ID" cpu cpu.cfs_quota_us -)" -1 "no --cpus: no quota (control)"
fi
cv destroy "$ID" >/dev/null
newid
capture cvrun --name "$ID" -m 32M --memory-swap -1 -- cvtest ppid
is "$RC:$OUT" "0:1" "--memory-swap -1 (unlimited) is accepted"
# --memory-reservation (both), --memory-swappiness and --oom-kill-disable (v1;
# refused on v2), --cpuset-cpus/-mems (the process's allowed CPUs)
newid
capture cvcreate --name "$ID" -m 64M --memory-reservation 32M --cpuset-cpus 0 --cpuset-mems 0
is "$RC" 0 "create with --memory-reservation 32M --cpuset-cpus 0 --cpuset-mems 0"
capture cv exec "$ID" /bin/sh -c 'grep Cpus_allowed_list /proc/self/status'
like "$OUT" "Cpus_allowed_list:	0" "--cpuset-cpus 0: an exec'd process may run on CPU 0 only"
if [ $v2 = 1 ]; then
  is "$(cgfile "$ID" - - memory.low)" $((32 << 20)) "--memory-reservation 32M: memory.low"
  is "$(cgfile "$ID" - - cpuset.cpus)" 0 "--cpuset-cpus 0: cpuset.cpus"
else
  is "$(cgfile "$ID" memory memory.soft_limit_in_bytes -)" $((32 << 20)) "--memory-reservation 32M: soft_limit_in_bytes"
  is "$(cgfile "$ID" cpuset cpuset.cpus -)" 0 "--cpuset-cpus 0: the cpuset hierarchy's cpuset.cpus"
  is "$(cgfile "$ID" cpuset cpuset.mems -)" 0 "--cpuset-mems 0: cpuset.mems"
fi
cv destroy "$ID" >/dev/null
newid
capture cvcreate --name "$ID" --memory-swappiness 10 --oom-kill-disable
if [ $v2 = 1 ]; then
  is "$RC:$NERR" "125:1" "--memory-swappiness on cgroup v2: refused in one line"
  like "$ERR" "cgroup v2" "saying why"
else
  is "$RC" 0 "create with --memory-swappiness 10 --oom-kill-disable"
  is "$(cgfile "$ID" memory memory.swappiness -)" 10 "--memory-swappiness 10"
  like "$(cgfile "$ID" memory memory.oom_control -)" "oom_kill_disable 1" "--oom-kill-disable"
  cv destroy "$ID" >/dev/null
fi
# --device-cgroup-rule: the container under the device controller, the
# devices every container has and the rule allowed
newid
capture cvcreate --name "$ID" --device-cgroup-rule 'c 10:200 rwm' --device-cgroup-rule 'b 7:* r'
is "$RC" 0 "create with two --device-cgroup-rule"
capture cv exec "$ID" cvtest openw /dev/null
is "$OUT" OK "/dev/null (a default) opens under the device controller"
if [ $v2 = 0 ]; then
  like "$(cgfile "$ID" devices devices.list -)" "b 7:* r" "the rule is in the devices cgroup"
  isnt "$(cgfile "$ID" devices devices.list -)" "a *:* rwm" "and not everything is allowed"
fi
cv destroy "$ID" >/dev/null
for bad in "--device-cgroup-rule x" "--device-cgroup-rule c_1:3_rwm" "--cpus 0" "--cpus x" "--cpu-shares 1" "--cpu-shares 262145" "--memory-swap 16M -m 32M" \
  "--memory-reservation 64M -m 32M" "--memory-swappiness 101" "--cpuset-cpus 3-1" "--cpuset-cpus 8191" "--cpuset-mems x"; do
  newid
  # shellcheck disable=SC2086
  capture cvrun --name "$ID" $bad -- cvtest ppid
  if [ "$RC" = 125 ] && [ "$NERR" = 1 ]; then ok "$bad: refused in one line ($(err1))"; else fail "$bad # rc $RC, stderr '$ERR'"; fi
done
no_leaks "cgroup options"

# ---- capabilities and the security options
section "security options"
capture cvrun -- cvtest capeff
is "$OUT" "$OCI_CAPS" "default capabilities (control)"
host_caps=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
capture cvrun --cap-add ALL -- cvtest capeff
is "$OUT" "$host_caps" "--cap-add ALL: every capability of the bounding set"
capture cvrun --cap-add NET_ADMIN -- cvtest capeff
if [ "$RC" = 125 ] && [[ "$ERR" == *NET_ADMIN* ]]; then ok "--cap-add NET_ADMIN is refused by name (only ALL)"; else fail "--cap-add NET_ADMIN # rc $RC '$ERR'"; fi
capture cvrun -- sh -c 'cvtest nnp; cvtest seccomp'
is "$(echo $OUT)" "1 2" "default: no_new_privs and a seccomp filter (control)"
capture cvrun --security-opt no-new-privileges=false -- sh -c 'cvtest nnp; cvtest seccomp'
is "$(echo $OUT)" "0 2" "no-new-privileges=false: no_new_privs off, seccomp kept"
capture cvrun --security-opt seccomp=unconfined -- sh -c 'cvtest nnp; cvtest seccomp'
is "$(echo $OUT)" "1 0" "seccomp=unconfined: no filter, no_new_privs kept"
capture cvrun -- sh -c 'wc -c </proc/timer_list'
is "$OUT" 0 "default: /proc/timer_list is masked (control)"
capture cvrun --security-opt mask=off -- sh -c 'wc -c </proc/timer_list'
if [ "$RC" = 0 ] && [ "${OUT:-0}" -gt 0 ] 2>/dev/null; then ok "mask=off: /proc/timer_list readable ($OUT bytes)"; else fail "mask=off # rc $RC '$OUT'"; fi
capture cvrun --hostname before -- sh -c 'echo after >/proc/sys/kernel/hostname; hostname'
is "$OUT" before "default: /proc/sys is read-only (control)"
capture cvrun --hostname before --security-opt readonly-paths=off -- sh -c 'echo after >/proc/sys/kernel/hostname; hostname'
is "$OUT" after "readonly-paths=off: /proc/sys writable (the container's own uts namespace)"
capture cvrun --privileged -- sh -c 'cvtest capeff; cvtest nnp; cvtest seccomp; wc -c </proc/timer_list'
read -r p_caps p_nnp p_sec p_tl <<<"$(echo $OUT)"
is "$p_caps $p_nnp $p_sec" "$host_caps 0 0" "--privileged: all capabilities, no no_new_privs, no seccomp"
if [ "${p_tl:-0}" -gt 0 ] 2>/dev/null; then ok "--privileged: nothing masked"; else fail "--privileged: /proc/timer_list '$p_tl'"; fi
capture cvrun --security-opt apparmor=x -- cvtest ppid
if [ "$RC" = 125 ] && [ "$NERR" = 1 ] && [[ "$ERR" == *apparmor=x* ]]; then ok "an unknown --security-opt is refused by name"; else fail "--security-opt apparmor=x # rc $RC '$ERR'"; fi

# ---- devices: CAP_MKNOD is granted, but nodes cannot be opened (MS_NODEV)
mknod "$T/null-control" c 1 3
if cat "$T/null-control" >/dev/null 2>&1; then ok "a host-made char 1:3 node opens where devices are allowed (control)"; else fail "control node unreadable"; fi
rm -f "$T/null-control"
capture cvrun -- sh -c 'mknod /tmp/n c 1 3 && echo made; cvtest read /tmp/n; mknod /n c 1 3 && echo made; cvtest read /n'
is "$(echo $OUT)" "made EACCES made EACCES" "a node made inside (in /tmp and the writable layer) cannot be opened"
no_leaks "security options"
