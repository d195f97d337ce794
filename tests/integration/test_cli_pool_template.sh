#!/usr/bin/env bash
# `containerv template create|list|show|rm` and `run --template`: the options
# of run, saved and reused; bad names, bad options and corrupt files each give
# one line on stderr; nothing is left behind.
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

ST=$T/state
tpl() { cv --state-dir "$ST" template "$@"; }
leak_snap

capture tpl list
is "$RC" 0 "list with no state dir: exit 0"
is "$OUT" "" "list with no state dir: empty"

capture tpl create web --lower "$CV_HELPER_LAYER" --lower "$CV_DEFAULT_ROOTFS" \
  --hostname tplhost -e TPLVAR=hello -w /tmp --memory 64M --pids 32
is "$RC" 0 "create web: exit 0"
capture tpl create db --lower "$CV_DEFAULT_ROOTFS"
is "$RC" 0 "create db: exit 0"
capture tpl list
is "$OUT" $'db\nweb' "list: both, sorted"
capture tpl show web
like "$OUT" '"hostname": "tplhost"' "show: the hostname"
like "$OUT" '"memory": 67108864' "show: the memory limit in bytes"
like "$OUT" '"pids": 32' "show: the pids limit"

newid
capture cv --state-dir "$ST" run --template web --name "$ID" -- /bin/cvtest hostname
is "$RC" 0 "run --template: exit 0"
is "$OUT" tplhost "run --template: the template's hostname"
capture cv --state-dir "$ST" run --template web -- /bin/cvtest env TPLVAR
is "$OUT" hello "run --template: the template's environment"
capture cv --state-dir "$ST" run --template web -- /bin/cvtest cwd
is "$OUT" /tmp "run --template: the template's workdir"
capture cv --state-dir "$ST" run --template web -- /bin/cvtest exit 7
is "$RC" 7 "run --template: the exit status"

# one line on stderr, naming what is wrong
expect1() { # WANT_RC NAME DESCRIPTION -- CMD...
  local want=$1 name=$2 desc=$3
  shift 4
  capture "$@"
  is "$RC" "$want" "$desc: exit code"
  is "$NERR" 1 "$desc: one line on stderr"
  like "$(err1)" "$name" "$desc: names '$name'"
}
expect1 125 nope.json "show a missing template" -- tpl show nope
expect1 125 nope.json "run a missing template" -- cv --state-dir "$ST" run --template nope -- /bin/true
expect1 125 "../x" "a bad name" -- tpl create ../x
expect1 125 abc "a bad option value" -- tpl create x --memory abc
expect1 125 --bogus "an unknown option" -- tpl create x --bogus
expect1 125 "container options" "--template with container options" -- \
  cv --state-dir "$ST" run --template web -m 1G -- /bin/true
printf '{"containerv_template": 1, "name": "web", "limits": {"memory": "64M"}}\n' >"$ST/templates/web.json"
expect1 125 "limits.memory" "a hand-edited file: the field" -- tpl show web
like "$(err1)" "$ST/templates/web.json" "a hand-edited file: the file"
printf '{"containerv_template": 1,' >"$ST/templates/web.json"
expect1 125 "line 1" "a corrupt file" -- cv --state-dir "$ST" run --template web -- /bin/true

capture tpl rm web db
is "$RC" 0 "rm: exit 0"
capture tpl list
is "$OUT" "" "rm: none left"
expect1 125 web.json "rm a missing template" -- tpl rm web
no_leaks "templates"
