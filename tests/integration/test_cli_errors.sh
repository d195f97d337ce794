#!/usr/bin/env bash
# Bad input: each case exits non-zero (125, or 126/127 when the command cannot
# be executed), prints exactly one line on stderr naming the offending path or
# value, and leaves nothing behind.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

echo "not a directory" >"$T/a-file"
mkdir -p "$T/empty-dir"

# expect WANT_RC MUST_NAME DESCRIPTION -- CLI ARGS...
expect() {
  local want=$1 name=$2 desc=$3
  shift 4
  section "$desc"
  capture "$@"
  is "$RC" "$want" "$desc: exit code"
  is "$NERR" 1 "$desc: one line on stderr"
  like "$(err1)" "$name" "$desc: the message names '$name'"
  is "$OUT" "" "$desc: nothing on stdout"
  no_leaks "$desc"
}

newid
expect 125 "$T/no-such-rootfs" "missing rootfs" -- cv run --name "$ID" --rootfs "$T/no-such-rootfs" -- /bin/true
expect 125 "$T/a-file" "rootfs is a file" -- cv run --name "$ID" --rootfs "$T/a-file" -- /bin/true
expect 125 "$T/a-file" "--lower is a file" -- cvrun --name "$ID" --lower "$T/a-file" -- /bin/true
expect 125 "$T/no-such-lower" "--lower missing" -- cvrun --name "$ID" --lower "$T/no-such-lower" -- /bin/true
expect 127 /bin/cvtest "rootfs without the command" -- cv run --name "$ID" --lower "$CV_DEFAULT_ROOTFS" -- /bin/cvtest pid
expect 127 no-such-command "a command not in PATH" -- cvrun --name "$ID" -- no-such-command
expect 126 /etc/passwd "a non-executable command" -- cvrun --name "$ID" -- /etc/passwd
expect 126 /etc "a directory as the command" -- cvrun --name "$ID" -- /etc
expect 125 abc "--memory abc" -- cvrun --name "$ID" --memory abc -- /bin/true
expect 125 12Q "--memory 12Q" -- cvrun --name "$ID" --memory 12Q -- /bin/true
expect 125 --pids "--pids 0 (names the option)" -- cvrun --name "$ID" --pids 0 -- /bin/true
expect 125 "'0'" "--pids 0 (names the value)" -- cvrun --name "$ID" --pids 0 -- /bin/true
expect 125 -5 "--pids -5" -- cvrun --name "$ID" --pids -5 -- /bin/true
expect 125 abc "--user abc" -- cvrun --name "$ID" --user abc -- /bin/true
expect 125 "$T/no-such-volume" "--volume source missing" -- cvrun --name "$ID" --volume "$T/no-such-volume:/mnt/x" -- /bin/true
expect 125 "relative:/mnt" "--volume relative source" -- cvrun --name "$ID" --volume "relative:/mnt" -- /bin/true
expect 125 "../x" "--name with a path" -- cvrun --name "../x" -- /bin/true
expect 125 --bogus "an unknown option" -- cvrun --bogus -- /bin/true
expect 125 "$T/a-file" "--runtime-dir is a file" -- "$CONTAINERV" --runtime-dir "$T/a-file" run \
  --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS" -- /bin/true

# a workdir missing in the rootfs: either refused, naming it, or made (as
# docker does); never silently somewhere else
section "--workdir missing"
capture cvrun --name "$ID" --workdir /no/such/dir -- cvtest cwd
case "$RC" in
  0) is "$OUT" /no/such/dir "--workdir missing: made, and the command runs there" ;;
  125 | 126 | 127)
    is "$NERR" 1 "--workdir missing: refused with one line on stderr"
    like "$(err1)" /no/such/dir "--workdir missing: names the dir" ;;
  *) fail "--workdir missing: exit # got $RC" ;;
esac
no_leaks "--workdir missing"

# a duplicate id: refused, the first container untouched
section "duplicate id"
newid
capture cvcreate --name "$ID"
if [ "$RC" != 0 ]; then
  fail "create $ID for the duplicate-id case # exit $RC: $(err1)"
else
  ok "create $ID"
  capture cvcreate --name "$ID"
  is "$RC" 125 "create with a duplicate id: 125"
  is "$NERR" 1 "duplicate id: one line on stderr"
  like "$(err1)" "$ID" "duplicate id: names the id"
  capture cvrun --name "$ID" -- /bin/true
  is "$RC" 125 "run with a duplicate id: 125"
  like "$(err1)" "$ID" "run with a duplicate id: names the id"
  capture cv exec "$ID" -- cvtest exit 6
  is "$RC" 6 "the first container still works"
  is "$(cv list -q)" "$ID" "only one container listed"
fi
capture cv destroy "$ID"
no_leaks "duplicate id"

# verbs' own bad input
expect 125 no-such-container "exec of a missing id" -- cv exec no-such-container -- /bin/true
expect 125 no-such-container "destroy of a missing id" -- cv destroy no-such-container
expect 125 frobnicate "an unknown verb" -- cv frobnicate
