#!/usr/bin/env bash
# `containerv daemon`, `run --template` through it, `pool status`: output and
# exit codes pass through, signals propagate, a client killed mid-run gets its
# command killed and its container back in the pool, the fallback to a local
# start, the peer check (root, --group), SIGTERM and SIGKILL to the daemon,
# config file errors. Every daemon has its own socket in this test's temporary
# directory; the tests wait for it on --ready-fd (a FIFO), never by sleeping.
# (Malformed requests and floods: test_daemon.c.)
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

ST=$T/state
SOCK=$T/sock/d.sock
DPID=
DSEQ=0
NOBODY=65534

tpl() { cv --state-dir "$ST" template "$@"; }
cvs() { cv --state-dir "$ST" --socket "${USE_SOCK:-$SOCK}" "$@"; }

# start_daemon SOCKET ARGS...: a daemon in the background (DPID), returns once
# it said ready on --ready-fd; 1 when it exited instead.
start_daemon() {
  local sock=$1 fifo=$T/ready.$RANDOM ch=
  shift
  mkfifo "$fifo"
  DSEQ=$((DSEQ + 1)) # container ids of each daemon differ: "<PFX>d<n>x<pool>x<k>"
  # the daemon dies with this test even when the test is killed (no trap runs then)
  setpriv --pdeathsig KILL "$CONTAINERV" --state-dir "$ST" --runtime-dir "$RT" --socket "$sock" daemon \
    --id-prefix "${PFX}d${DSEQ}x" --ready-fd 3 "$@" 3>"$fifo" 2>>"$T/daemon.err" &
  DPID=$!
  BG_PIDS+=("$DPID")
  read -r -n 1 -t 60 ch <"$fifo"
  rm -f "$fifo"
  [ "$ch" = r ]
}
stop_daemon() { # SIGNAL: the daemon's exit code in DRC
  kill -"$1" "$DPID"
  wait "$DPID"
  DRC=$?
}
# a figure of one pool from `pool status --json`: figure TEMPLATE FIELD
figure() {
  cvs pool status --json | tr -d ' \n' | grep -o "{\"template\":\"$1\"[^}]*}" |
    grep -o "\"$2\":[^,}]*" | cut -d: -f2
}

capture tpl create web --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS"
is "$RC" 0 "template web"
capture tpl create other --lower "$CV_DEFAULT_ROOTFS"
is "$RC" 0 "template other (no pool)"
section "daemon"

# ------------------------------------------------------------ no daemon
capture cvs pool status
is "$RC" 125 "pool status without a daemon: exit 125"
is "$(err1)" "containerv: pool status: no daemon on '$SOCK': No such file or directory" \
  "pool status without a daemon: the message"
capture cvs --debug run --template web -- /bin/cvtest exit 5
is "$RC" 5 "run --template without a daemon: the local start works"
like "$ERR" "no daemon on '$SOCK'" "run --template without a daemon: --debug says so"

# ------------------------------------------------------------ start
if start_daemon "$SOCK" --pool web=2; then ok "daemon: ready"; else fail "daemon: ready ($(cat "$T/daemon.err"))"; fi
is "$(stat -c %a "$SOCK")" 600 "daemon: socket mode 0600 without --group"
is "$(stat -c %a "$(dirname "$SOCK")")" 755 "daemon: the socket's directory was made 0755"
is "$(figure web warm)" 2 "pool status: the pool is warm"
is "$(figure web size)" 2 "pool status: its size"
capture cvs pool status
like "$OUT" "TEMPLATE" "pool status: a table header"
like "$(echo "$OUT" | awk '$1 == "web"')" "web" "pool status: a row for web"

capture cv --state-dir "$ST" --runtime-dir "$RT" --socket "$SOCK" daemon --pool web=1
is "$RC" 125 "a second daemon on the same socket: exit 125"
like "$(err1)" "another daemon is running on '$SOCK'" "a second daemon: the message"

# ------------------------------------------------------------ runs
hits0=$(figure web hits)
capture cvs --debug run --template web -- /bin/cvtest hostname
is "$RC" 0 "run through the daemon: exit 0"
like "$ERR" "through the daemon" "run through the daemon: --debug says so"
capture cvs run --template web -- /bin/sh -c 'echo out; echo err >&2; exit 7'
is "$RC" 7 "run through the daemon: exit 7 propagates"
is "$OUT" out "run through the daemon: stdout passes through"
is "$ERR" err "run through the daemon: stderr passes through"
capture sh -c "echo piped | $CONTAINERV --socket $SOCK run -i --template web -- cat"
is "$OUT" piped "run -i through the daemon: stdin passes through"
capture cvs run --template web -- /bin/nope
is "$RC" 127 "run through the daemon: a missing command is 127"
is "$NERR" 1 "run through the daemon: a missing command is one line"
like "$(err1)" "spawn.exec" "run through the daemon: the step is named"
capture cvs run --template web -- /bin/sh -c 'kill -USR1 $$'
is "$RC" 138 "run through the daemon: 128 + the signal that killed it"
hits1=$(figure web hits)
is "$((hits1 - hits0))" 5 "pool status: hits grew by the 5 runs"
is "$(figure web in_use)" 0 "pool status: nothing in use after the runs"

if command -v script >/dev/null; then
  capture script -eqc "$CONTAINERV --socket $SOCK run -t --template web -- /bin/sh -c 'tty; exit 3'" /dev/null
  is "$RC" 3 "run -t through the daemon: the exit code"
  like "$OUT" "/dev/pts/" "run -t through the daemon: a terminal inside"
else
  note "script(1) not installed: -t not tested"
fi

# a client whose command is under way: start CMD... with --debug, stderr in a
# FIFO held open on fd EFD; CPID and CMDPID (the command's host pid) are set
# once the daemon said STARTED
start_client() {
  local fifo=$T/client.$RANDOM line
  mkfifo "$fifo"
  "$CONTAINERV" --debug --socket "$SOCK" run --template web -- "$@" 2>"$fifo" &
  CPID=$!
  BG_PIDS+=("$CPID")
  exec {EFD}<"$fifo"
  rm -f "$fifo"
  CMDPID=
  while read -r -t 60 -u "$EFD" line; do
    case "$line" in *"spawned pid "*) CMDPID=${line#*spawned pid }; CMDPID=${CMDPID%% *}; break ;; esac
  done
}

# signals
start_client sleep 30
isnt "$CMDPID" "" "signal: the command started"
kill -TERM "$CPID"
wait "$CPID"
is "$?" 143 "signal: SIGTERM to the client ends it with 143 (the command's status)"
exec {EFD}<&-
if alive "$CMDPID"; then fail "signal: the command is gone"; else ok "signal: the command is gone"; fi
is "$(figure web in_use)" 0 "signal: the container is back in the pool"

# a client killed mid-run
start_client sleep 30
isnt "$CMDPID" "" "disconnect: the command started"
kill -KILL "$CPID"
wait "$CPID" 2>/dev/null
exec {EFD}<&-
# the daemon reclaims asynchronously: wait (bounded, to catch a hang only)
in_use_zero() { [ "$(figure web in_use)" = 0 ] && ! alive "$CMDPID"; }
if wait_until 600 in_use_zero; then ok "disconnect: command killed, container returned"; else
  fail "disconnect: command killed, container returned (in_use $(figure web in_use))"; fi
capture cvs run --template web -- /bin/cvtest exit 0
is "$RC" 0 "disconnect: the daemon still serves"

# ------------------------------------------------------------ fallbacks
capture cvs --debug run --template other -- /bin/sh -c 'exit 4'
is "$RC" 4 "no pool for the template: the local start works"
like "$ERR" "has no pool for 'other'" "no pool for the template: --debug says so"
capture cvs --debug run --no-daemon --template web -- /bin/cvtest exit 6
is "$RC" 6 "--no-daemon: the local start"
case "$ERR" in *"through the daemon"*) fail "--no-daemon: not through the daemon" ;; *) ok "--no-daemon: not through the daemon" ;; esac

# ------------------------------------------------------------ permissions
chmod 666 "$SOCK" # let the file system through, so the peer check is what refuses
capture setpriv --reuid $NOBODY --regid $NOBODY --clear-groups "$CONTAINERV" --socket "$SOCK" \
  run --template web -- /bin/true
is "$RC" 125 "uid $NOBODY, no --group: exit 125"
is "$NERR" 1 "uid $NOBODY, no --group: one line"
like "$(err1)" "permission denied: uid $NOBODY is not root" "uid $NOBODY, no --group: the message"
capture setpriv --reuid $NOBODY --regid $NOBODY --clear-groups "$CONTAINERV" --socket "$SOCK" pool status
is "$RC" 125 "uid $NOBODY, pool status: exit 125"
like "$(err1)" "permission denied: uid $NOBODY is not root" "uid $NOBODY, pool status: the message"
chmod 600 "$SOCK"
capture setpriv --reuid $NOBODY --regid $NOBODY --clear-groups "$CONTAINERV" --socket "$SOCK" \
  run --template web -- /bin/true
is "$RC" 125 "uid $NOBODY on a 0600 socket: exit 125"
like "$(err1)" "Permission denied" "uid $NOBODY on a 0600 socket: the message"

# --group: a member (by a supplementary group) may, others may not
MAIN_PID=$DPID
GSOCK=$T/gsock/d.sock
# a group that exists on every Debian system (base-passwd): users (100), else
# nogroup; none is made or changed by the test
GNAME=users
GID=$(awk -F: '$1 == "users" {print $3}' /etc/group)
[ -n "$GID" ] || { GNAME=nogroup; GID=$(awk -F: '$1 == "nogroup" {print $3}' /etc/group); }
if [ -z "$GID" ]; then
  fail "--group: /etc/group has neither 'users' nor 'nogroup' (base-passwd makes both)"
elif start_daemon "$GSOCK" --pool web=1 --group "$GNAME"; then
  is "$(stat -c '%a %g' "$GSOCK")" "660 $GID" "--group: socket mode 0660, group $GNAME"
  is "$(ls -A "$(dirname "$GSOCK")" | tr '\n' ' ')" "d.sock d.sock.metrics " \
    "--group: the private bind directories are gone (the socket and the metrics endpoint's only)"
  capture setpriv --reuid $NOBODY --regid $NOBODY --groups "$GID" "$CONTAINERV" --socket "$GSOCK" \
    run --template web -- /bin/sh -c 'echo member'
  is "$RC" 0 "--group: a member of $GNAME may run"
  is "$OUT" member "--group: a member's output"
  # a member's stdio that is a file or a directory: the client relays it
  # through a pipe (the daemon refuses raw files from a non-root client), so
  # the root workload cannot reach the host object behind it
  printf 'topsecret\n' >"$T/secret"; chmod 600 "$T/secret"
  printf 'orig\n' >"$T/rofile"; chmod 644 "$T/rofile"
  capture setpriv --reuid $NOBODY --regid $NOBODY --groups "$GID" "$CONTAINERV" --socket "$GSOCK" \
    run -i --template web -- /bin/sh -c "cat /proc/self/fd/0$T/secret" </
  isnt "$RC" 0 "--group: a member's stdin /: the workload cannot walk the host"
  case "$OUT" in *topsecret*) fail "--group: a member's stdin /: no secret" ;; *) ok "--group: a member's stdin /: no secret" ;; esac
  capture setpriv --reuid $NOBODY --regid $NOBODY --groups "$GID" "$CONTAINERV" --socket "$GSOCK" \
    run -i --template web -- /bin/sh -c 'cat; echo x > /proc/self/fd/0' <"$T/rofile"
  is "$OUT" orig "--group: a member's stdin from a file: relayed, read"
  is "$(cat "$T/rofile")" orig "--group: a member's stdin file: not overwritten through /proc/self/fd/0"
  capture sh -c "echo piped | setpriv --reuid $NOBODY --regid $NOBODY --groups $GID $CONTAINERV --socket $GSOCK run -i --template web -- cat"
  is "$OUT" piped "--group: a member's piped stdin passes through"
  chmod 666 "$GSOCK"
  capture setpriv --reuid $NOBODY --regid $NOBODY --clear-groups "$CONTAINERV" --socket "$GSOCK" \
    run --template web -- /bin/true
  is "$RC" 125 "--group: a non-member is refused"
  like "$(err1)" "permission denied: uid $NOBODY is not root and not in group 'users'" \
    "--group: the message names the group"
  stop_daemon TERM
  is "$DRC" 0 "--group daemon: SIGTERM, exit 0"
else
  fail "--group: a daemon with --group users ($(tail -1 "$T/daemon.err"))"
fi
DPID=$MAIN_PID

# a symlink at the socket path: refused, its target keeps its owner and mode
LSOCK=$T/lsock/d.sock
mkdir -p "$T/lsock"; : >"$T/ltarget"; chmod 644 "$T/ltarget"; ln -s "$T/ltarget" "$LSOCK"
capture cv --state-dir "$ST" --runtime-dir "$RT" --socket "$LSOCK" daemon --pool web=1 --group 4242
is "$RC" 125 "a symlink at the socket path: exit 125"
is "$(stat -c '%a %u:%g' "$T/ltarget")" "644 0:0" "a symlink at the socket path: its target untouched"
is "$(ls -A "$T/lsock")" "d.sock" "a symlink at the socket path: nothing left beside it"

# ------------------------------------------------------------ SIGTERM
stop_daemon TERM
is "$DRC" 0 "SIGTERM: exit 0"
if [ -e "$SOCK" ]; then fail "SIGTERM: the socket is removed"; else ok "SIGTERM: the socket is removed"; fi
capture cv list
is "$(echo "$OUT" | grep -c "${PFX}d")" 0 "SIGTERM: no container left"
no_leaks "SIGTERM"

# ------------------------------------------------------------ SIGKILL
section "SIGKILL"
if start_daemon "$SOCK" --pool web=2; then ok "daemon again: ready"; else fail "daemon again: ready"; fi
capture cvs run --template web -- /bin/true
is "$RC" 0 "daemon again: a run"
stop_daemon KILL
# the inits die with the daemon (die-with-parent); gc removes their state
all_stale() { ! cv list | awk 'NR > 1 && $2 != "stale"' | grep -q .; }
wait_until 600 all_stale && ok "SIGKILL: every container of the daemon died with it (listed stale)" ||
  fail "SIGKILL: containers still running after the daemon was killed: $(cv list | awk 'NR > 1 && $2 != "stale"' | tr '\n' ' ')"
capture cv gc
is "$RC" 0 "SIGKILL, then gc: exit 0"
capture cv --debug --socket "$SOCK" --state-dir "$ST" run --template web -- /bin/true
is "$RC" 0 "after SIGKILL: run falls back (stale socket)"
like "$ERR" "no daemon on '$SOCK' (Connection refused)" "after SIGKILL: the stale socket refuses"
if start_daemon "$SOCK" --pool web=1; then ok "a daemon replaces the stale socket"; else fail "a daemon replaces the stale socket"; fi
stop_daemon TERM
is "$DRC" 0 "and stops again"
no_leaks "SIGKILL, gc"

# ------------------------------------------------------------ configuration
section "configuration"
CONF=$T/daemon.conf
printf '# comment\nsocket = %s\n\npool = web two\n' "$SOCK" >"$CONF"
capture cv daemon --config "$CONF"
is "$RC" 125 "config: a bad pool line: exit 125"
is "$NERR" 1 "config: one line"
is "$(err1)" "containerv: daemon: $CONF:4: pool: size 'two' of 'web' is not a number in 1..1024" \
  "config: the message names FILE:LINE"
printf 'sockets = /x\n' >"$CONF"
capture cv daemon --config "$CONF"
is "$RC" 125 "config: an unknown key: exit 125"
like "$(err1)" "$CONF:1: unknown setting 'sockets'" "config: an unknown key: named"
capture cv daemon --config "$T/nope.conf"
is "$RC" 125 "config: a missing file: exit 125"
like "$(err1)" "$T/nope.conf" "config: a missing file: named"
capture cv --state-dir "$ST" --socket "$SOCK" daemon --pool nosuch=1
is "$RC" 125 "an unknown template: exit 125"
like "$(err1)" "nosuch" "an unknown template: named"
if [ -e "$SOCK" ]; then fail "an unknown template: no socket left"; else ok "an unknown template: no socket left"; fi
capture cv --socket "$SOCK" daemon
is "$RC" 125 "no pools: exit 125"
like "$(err1)" "no pools configured" "no pools: the message"

# a good file; the command line overrides its pool size
printf '# the test daemon\nsocket = %s\nstate_dir = %s\nruntime_dir = %s\npool = web 1\npool = other 1\n' \
  "$T/csock/d.sock" "$ST" "$RT" >"$CONF"
fifo=$T/ready.conf
mkfifo "$fifo"
"$CONTAINERV" daemon --config "$CONF" --pool web=2 --id-prefix "${PFX}d0x" --ready-fd 3 3>"$fifo" 2>>"$T/daemon.err" &
DPID=$!
BG_PIDS+=("$DPID")
read -r -n 1 -t 60 ch <"$fifo"
is "$ch" r "config: ready"
USE_SOCK=$T/csock/d.sock
is "$(figure web size)" 2 "config: --pool overrides the file's size"
is "$(figure other size)" 1 "config: the file's second pool"
capture cvs run --template other -- /bin/sh -c 'exit 9'
is "$RC" 9 "config: a run through the configured socket"
unset USE_SOCK
stop_daemon INT
is "$DRC" 0 "config daemon: SIGINT, exit 0"
no_leaks "daemon"
