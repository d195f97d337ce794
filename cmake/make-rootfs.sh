#!/bin/sh
# Make the built-in default rootfs from Debian's busybox-static: a static
# /bin/busybox with its applet links and the directories a container needs.
set -eu
out=$1
bb=/bin/busybox
if [ ! -x "$bb" ]; then
  echo "make-rootfs: $bb not found (apt-get install busybox-static)" >&2; exit 1
fi
if readelf -l "$bb" 2>/dev/null | grep -q 'Requesting program interpreter'; then
  echo "make-rootfs: $bb is dynamically linked; install busybox-static" >&2; exit 1
fi
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/sbin" "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/etc" "$tmp/proc" "$tmp/dev" \
         "$tmp/sys" "$tmp/tmp" "$tmp/root" "$tmp/home" "$tmp/var/tmp" "$tmp/run"
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
cp "$bb" "$tmp/bin/busybox"
chmod 755 "$tmp/bin/busybox"
for app in $("$bb" --list-full); do
  case "$app" in bin/busybox) continue ;; esac
  [ -e "$tmp/$app" ] || ln -s /bin/busybox "$tmp/$app"
done
cat >"$tmp/etc/passwd" <<PW
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat >"$tmp/etc/group" <<GR
root:x:0:
nogroup:x:65534:
GR
echo "containerv" >"$tmp/etc/hostname"
rm -rf "$out"
mv "$tmp" "$out"
