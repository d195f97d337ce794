# shellcheck shell=bash
# Shared by the CLI tests (tests/integration/test_*.sh): TAP-ish assertions,
# a private temporary directory and runtime dir, unique container ids, leak
# checks, and a cleanup that runs however the test ends.
#
# Environment (set by ctest): CONTAINERV, CV_HELPER_LAYER, CV_DEFAULT_ROOTFS,
# CV_STEPS. CI=true (or CVT_STRICT_MOUNTS=1) makes a change of the mount count
# that names none of our paths a failure too; on a shared machine it is only
# reported, since other users mount things as well.

set -uo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "1..0 # SKIP needs root"
  exit 77
fi
: "${CONTAINERV:?run through ctest (CONTAINERV is not set)}"
: "${CV_HELPER_LAYER:?run through ctest}"
: "${CV_DEFAULT_ROOTFS:?run through ctest}"

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "/tmp/cvt-$TEST_NAME.XXXXXX")
chmod 755 "$T"
RT=$T/run
mkdir -p "$RT"
PFX="cvs$$x"          # every container id of this test starts with it
SEQ=0
N=0
FAILED=0
BG_PIDS=()
CV_TIMEOUT=${CV_TIMEOUT:-120}
OCI_CAPS=00000000a80425fb

# ------------------------------------------------------------ assertions
ok() { N=$((N + 1)); echo "ok $N - $*"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
is() { # GOT WANT DESCRIPTION
  if [ "$1" == "$2" ]; then ok "$3"; else fail "$3 # got '$1', want '$2'"; fi
}
isnt() { # GOT UNWANTED DESCRIPTION
  if [ "$1" != "$2" ]; then ok "$3"; else fail "$3 # got '$1'"; fi
}
like() { # GOT SUBSTRING DESCRIPTION
  case "$1" in *"$2"*) ok "$3" ;; *) fail "$3 # '$1' does not contain '$2'" ;; esac
}
note() { echo "# $*"; }
ok_if() { # COMMAND... DESCRIPTION: ok when the command succeeds
  local d=${*: -1}
  if "${@:1:$#-1}"; then ok "$d"; else fail "$d"; fi
}

# ------------------------------------------------------------ running
newid() { SEQ=$((SEQ + 1)); ID="$PFX$SEQ"; }
cv() { timeout -k 5 "$CV_TIMEOUT" "$CONTAINERV" --runtime-dir "$RT" "$@"; }
# --name for a container the caller did not name, so that every container a
# test makes has an id the leak checks and the cleanup see ($PFX...);
# CV_KEEP_GENERATED=1 leaves the id to the CLI (for the test of that)
AUTO=0
auto_name() {
  local a
  [ "${CV_KEEP_GENERATED:-0}" = 1 ] && return
  for a in "$@"; do
    case $a in --) break ;; --name | --name=* | --template | --template=*) return ;; esac
  done
  AUTO=$((AUTO + 1))
  printf '%s\n' --name "${PFX}g$AUTO"
}
# run with the helper layer (/bin/cvtest) over the default rootfs
cvrun() {
  local -a n
  mapfile -t n < <(auto_name "$@")
  cv run "${n[@]}" --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS" "$@"
}
cvcreate() {
  local -a n
  mapfile -t n < <(auto_name "$@")
  cv create "${n[@]}" --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS" "$@"
}
# capture CMD...: sets RC, OUT (stdout) and ERR (stderr), NERR (stderr lines)
capture() {
  local o e
  o=$(mktemp -p "$T") e=$(mktemp -p "$T")
  "$@" >"$o" 2>"$e"
  RC=$?
  OUT=$(cat "$o") ERR=$(cat "$e")
  NERR=$(grep -c '' "$e")
  rm -f "$o" "$e"
}
# the first line of stderr, for messages
err1() { printf '%s' "${ERR%%$'\n'*}"; }

# status of a container in `list` ("" when not listed)
status_of() { cv list 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }

# ------------------------------------------------------------ processes
# pids of the descendants of $1 (not $1 itself)
descendants() {
  local root=$1 changed=1 p line rest
  local -A set=([$root]=1)
  local -A parent=()
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    read -r line 2>/dev/null <"/proc/$p/stat" || continue
    rest=${line##*) }  # "S PPID ..."
    rest=${rest#* }
    parent[$p]=${rest%% *}
  done
  while [ $changed = 1 ]; do
    changed=0
    for p in "${!parent[@]}"; do
      if [ -z "${set[$p]:-}" ] && [ -n "${set[${parent[$p]}]:-}" ]; then
        set[$p]=1
        changed=1
      fi
    done
  done
  for p in "${!set[@]}"; do [ "$p" != "$root" ] && echo "$p"; done
  return 0
}
# true when a thread of one of the pids is held by CONTAINERV_FAULT=pause:...:
# blocked in pause(2) (host steps), or in poll(2) / ppoll(2) on one fd without
# a timeout (child steps wait so for their parent to go away). The numbers
# are this architecture's (cv-steps --sysnr; -1 where it has no such call).
read -r NR_PAUSE NR_POLL NR_PPOLL < <("${CV_STEPS:?run through ctest}" --sysnr)
any_paused() {
  local p s nr a1 a2 a3
  for p in "$@"; do
    for s in /proc/"$p"/task/*/syscall; do
      read -r nr a1 a2 a3 _ 2>/dev/null <"$s" || continue
      [ "$nr" = "$NR_PAUSE" ] && return 0
      [ "$nr" = "$NR_POLL" ] && [ "$a2" = 0x1 ] &&
        { [ "$a3" = 0xffffffff ] || [ "$a3" = 0xffffffffffffffff ]; } && return 0
      [ "$nr" = "$NR_PPOLL" ] && [ "$a2" = 0x1 ] && [ "$a3" = 0x0 ] && return 0
    done
  done
  return 1
}
alive() { # PID: running (not a zombie)
  local line
  read -r line 2>/dev/null <"/proc/$1/stat" || return 1
  line=${line##*) }
  case "${line%% *}" in Z | X | "") return 1 ;; esac
  return 0
}
# wait (bounded, to catch hangs only) until CMD... succeeds; 0 or 1
wait_until() {
  local tries=$1
  shift
  while [ "$tries" -gt 0 ]; do
    "$@" && return 0
    sleep 0.05
    tries=$((tries - 1))
  done
  return 1
}

# ------------------------------------------------------------ leak checks
strict_mounts() {
  if [ -n "${CVT_STRICT_MOUNTS:-}" ]; then [ "$CVT_STRICT_MOUNTS" != 0 ]; return; fi
  [ -n "${CI:-}" ] && [ "$CI" != false ] && [ "$CI" != 0 ]
}
our_mounts() { cat /proc/self/mountinfo /proc/1/mountinfo | grep -c -e "$T" -e "$PFX"; }
our_cgroups() { find /sys/fs/cgroup -maxdepth 6 -type d -name "*$PFX*" 2>/dev/null | wc -l; }
our_procs() { grep -l -- "$PFX" /proc/[0-9]*/cgroup 2>/dev/null | wc -l; }
leak_snap() {
  SNAP_MOUNTS=$(our_mounts) SNAP_CGROUPS=$(our_cgroups) SNAP_PROCS=$(our_procs)
  SNAP_RT=$(ls -A "$RT" | wc -l)
  SNAP_SELF=$(wc -l </proc/self/mountinfo) SNAP_HOST=$(wc -l </proc/1/mountinfo)
  SNAP_MI=$(cat /proc/self/mountinfo)
}
# no_leaks DESCRIPTION: nothing of ours appeared since leak_snap
no_leaks() {
  local what=$1 m c p r s h bad=""
  m=$(our_mounts) c=$(our_cgroups) p=$(our_procs) r=$(ls -A "$RT" | wc -l)
  s=$(wc -l </proc/self/mountinfo) h=$(wc -l </proc/1/mountinfo)
  [ "$m" = "$SNAP_MOUNTS" ] || bad+=" mounts naming $T or $PFX: $SNAP_MOUNTS -> $m;"
  [ "$c" = "$SNAP_CGROUPS" ] || bad+=" cgroups $PFX*: $SNAP_CGROUPS -> $c ($(find /sys/fs/cgroup -maxdepth 6 -type d -name "*$PFX*" | head -3 | tr '\n' ' '));"
  [ "$p" = "$SNAP_PROCS" ] || bad+=" processes in $PFX* cgroups: $SNAP_PROCS -> $p;"
  [ "$r" = "$SNAP_RT" ] || bad+=" runtime dir entries: $SNAP_RT -> $r ($(ls -A "$RT" | head -3 | tr '\n' ' '));"
  if [ "$s" != "$SNAP_SELF" ] || [ "$h" != "$SNAP_HOST" ]; then
    local new
    new=$(diff <(echo "$SNAP_MI") /proc/self/mountinfo | grep '^[<>]' | head -5 | tr '\n' ';')
    # strict (CI): a new mount where the runtime mounts (temporary dirs, the
    # default runtime/state dirs, cgroups) or an overlay fails; one elsewhere
    # (an automount) is only reported
    if strict_mounts && diff <(echo "$SNAP_MI") /proc/self/mountinfo | grep '^>' |
      awk '{ t = ""; for (i = 1; i <= NF; i++) if ($i == "-") { t = $(i + 1); break } }
           $6 ~ "^(/tmp/|/run/containerv|/var/lib/containerv|/sys/fs/cgroup)" || t == "overlay" { f = 1 }
           END { exit !f }'; then
      bad+=" mount count self $SNAP_SELF -> $s, host $SNAP_HOST -> $h, new where the runtime mounts ($new);"
    else
      note "$what: mount count changed (self $SNAP_SELF -> $s, host $SNAP_HOST -> $h) without naming our paths: $new"
    fi
  fi
  if [ -z "$bad" ]; then ok "$what: nothing left behind"; else fail "$what: left behind:$bad"; fi
}

# ------------------------------------------------------------ sections
# section TITLE: what follows, up to the next section (or the end), has a
# runtime dir of its own ($T/run.<n>, in $RT) and a fresh leak_snap. What the
# previous section left in its runtime dir (containers, state files) fails
# that section and is destroyed now: one failure never changes the exact
# counts (list, gc's "removed") or the leak checks of the sections after it.
# (Not while a daemon or a container started in one section is still used:
# they keep the runtime dir they were given.)
SECTION=
NSECTION=0
section() {
  end_section
  NSECTION=$((NSECTION + 1))
  SECTION=$1
  RT=$T/run.$NSECTION
  mkdir -p "$RT"
  leak_snap
}
end_section() {
  local left
  [ -n "$SECTION" ] || return 0
  left=$(ls -A "$RT" 2>/dev/null | tr '\n' ' ')
  if [ -n "$left" ]; then
    fail "$SECTION: left in its runtime dir: ${left}(destroyed now)"
    timeout 60 "$CONTAINERV" --runtime-dir "$RT" destroy --all >/dev/null 2>&1
    timeout 60 "$CONTAINERV" --runtime-dir "$RT" gc >/dev/null 2>&1
  fi
  SECTION=
}

# ------------------------------------------------------------ cleanup
cleanup() {
  local rc=$? left=0 p rt
  trap - EXIT
  for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  end_section
  for rt in "$T"/run "$T"/run.*; do # the test's and each section's
    [ -n "$(ls -A "$rt" 2>/dev/null)" ] || continue
    echo "# cleanup: containers or state left in $rt: $(ls -A "$rt" | tr '\n' ' ')"
    left=1
    timeout 60 "$CONTAINERV" --runtime-dir "$rt" destroy --all >/dev/null 2>&1
    timeout 60 "$CONTAINERV" --runtime-dir "$rt" gc >/dev/null 2>&1
  done
  # processes and cgroups named after our ids (nothing else)
  for p in $(grep -l -- "$PFX" /proc/[0-9]*/cgroup 2>/dev/null); do
    p=${p#/proc/}; p=${p%/cgroup}
    echo "# cleanup: killing leftover process $p"
    kill -9 "$p" 2>/dev/null
    left=1
  done
  wait_until 100 test "$(our_procs)" = 0 || true
  while read -r d; do
    [ -n "$d" ] || continue
    echo "# cleanup: removing leftover cgroup $d"
    # a killed process holds its cgroup until it is reaped: retry a little
    wait_until 100 rmdir "$d" 2>/dev/null || echo "# cleanup: cannot remove $d"
    left=1
  done < <(find /sys/fs/cgroup -maxdepth 6 -depth -type d -name "*$PFX*" 2>/dev/null)
  # mounts below our tmp dir, last first
  while read -r mp; do
    [ -n "$mp" ] || continue
    echo "# cleanup: unmounting leftover $mp"
    umount -l "$mp" 2>/dev/null
    left=1
  done < <(awk -v t="$T" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | tac)
  rm -rf --one-file-system "$T"
  if [ "$left" = 1 ]; then
    FAILED=$((FAILED + 1))
    echo "not ok - things were left behind at the end (removed now)"
  fi
  echo "1..$N"
  if [ "$FAILED" -gt 0 ]; then
    echo "# $FAILED of $N failed"
    exit 1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
