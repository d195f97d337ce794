#!/usr/bin/env bash
# The man page and the bash completion made at build time from the command's
# --help texts (tools/gen-cli-docs): every verb and every option the command
# accepts is in both, the completion completes verbs, options, template and
# bench subcommands and paths, and the man page renders (when man is here).
source "${CV_TEST_LIB:-$(dirname "$0")/lib.sh}"

share=$(cd "$(dirname "$CONTAINERV")/../share" && pwd)
MAN=$share/man/man1/containerv.1
COMP=$share/bash-completion/completions/containerv
[ -f "$MAN" ] && ok "the man page was made ($MAN)" || fail "no man page at $MAN"
[ -f "$COMP" ] && ok "the completion was made ($COMP)" || fail "no completion at $COMP"

verbs=$(cv --help | awk '/^Commands:/ { f = 1; next } f && /^$/ { exit } f && /^  [a-z]/ { print $1 }')
[ "$(wc -w <<<"$verbs")" -ge 10 ] && ok "containerv --help lists $(wc -w <<<"$verbs") verbs" || fail "verbs: $verbs"
missing_man="" missing_comp=""
for v in $verbs; do
  grep -qx ".SS containerv $v" "$MAN" || missing_man+=" $v"
  for o in $(cv "$v" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*'); do
    grep -qF -- "$o" "$MAN" || missing_man+=" $v:$o"
    (source "$COMP"; _containerv_opts "$v") | tr ' ' '\n' | grep -qx -- "$o" || missing_comp+=" $v:$o"
  done
done
is "$missing_man" "" "the man page has every verb and every option"
is "$missing_comp" "" "the completion has every option of every verb"

# complete WORDS...: what the completion offers for the last word
complete_words() {
  (
    source "$COMP"
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _containerv
    [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
  )
}
is "$(complete_words containerv r)" "resume rm run " "containerv r<TAB>: rm run, and the OCI runtime's resume"
is "$(complete_words containerv --runtime-dir /tmp r)" "resume rm run " "after a global option with its value: the verbs"
is "$(complete_words containerv upd)" "update " "an OCI runtime verb completes (update)"
like "$(complete_words containerv update --mem)" "--memory --memory-reservation --memory-swap" "update --mem<TAB>: its options (from its --help)"
like "$(complete_words containerv run --me)" "--memory --memory-reservation --memory-swap --memory-swappiness --metrics --metrics-json" "run --me<TAB>"
is "$(complete_words containerv template "")" "create list rm show " "template <TAB>: its subcommands"
like "$(complete_words containerv bench s)" "startup" "bench s<TAB>: startup"
mkdir -p "$T/compdir/sub"
like "$(complete_words containerv run --rootfs "$T/compdir/s")" "$T/compdir/sub" "run --rootfs <TAB>: paths"
is "$(complete_words containerv exec --nosuch)" "" "an unknown option completes to nothing"

if command -v man >/dev/null; then
  capture env MANWIDTH=100 man -l "$MAN"
  is "$RC" 0 "man -l renders the page"
  like "$OUT" "containerv run" "the rendered page has the run command"
  is "$(grep -c 'warning' <<<"$ERR")" 0 "man renders without warnings"
else
  note "man is not installed: the page was checked as text only"
fi
