#!/usr/bin/env bash
# `make install` (meson install) into a staging root: the daemon, the
# clients, the man pages and a systemd unit that systemd accepts and that
# starts the installed daemon.
. "$(dirname "$0")/lib.sh"

root=$RUN/root
check "meson install into a staging root" \
    meson install -C "$TS_BUILD_DIR" --no-rebuild --destdir "$root" --quiet
prefix=$(meson introspect "$TS_BUILD_DIR" --buildoptions |
         python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
check "vswitchd installed" test -x "$root$prefix/sbin/vswitchd"
check "vsctl installed" test -x "$root$prefix/bin/vsctl"
check "vslab installed" test -x "$root$prefix/bin/vslab"
check "man pages installed" sh -c "ls $root$prefix/share/man/man8/vswitchd.8* $root$prefix/share/man/man8/vsctl.8* $root$prefix/share/man/man1/vslab.1*"
unit=$(find "$root" -name trackswitch.service | head -1)
check "systemd unit installed" test -n "$unit"
check "unit starts the installed daemon" \
    grep -q "^ExecStart=$prefix/sbin/vswitchd --detach" "$unit"
check "unit reloads with SIGHUP" grep -q '^ExecReload=.*-HUP' "$unit"
# systemd-analyze checks the syntax; the binary path is only staged here,
# so "not executable" and man page lookups are the expected complaints.
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$unit" >"$RUN/verify.out" 2>&1
    check "systemd-analyze finds no other problem" \
        sh -c "! grep -v -e 'is not executable' -e \"Command 'man \" '$RUN/verify.out' | grep ."
fi
check "installed vswitchd runs" "$root$prefix/sbin/vswitchd" --version
