# Command agent of the ts-vm guest: runs on the serial console (stdin and
# stdout are /dev/ttyS0 in raw mode).  See docs/vm.md, "Agent protocol".
#
# Request, one line from the host:
#   X ID SECS BASE64(shell command)
# Each request runs in the background (several may run at once) with stdin
# from /dev/null, killed after SECS seconds.  The reply is one block, written
# under a lock so that blocks never interleave:
#   @@TSVM-OUT ID / base64 lines of stdout / @@TSVM-ERR ID /
#   base64 lines of stderr / @@TSVM-END ID STATUS
mkdir -p /run/tsvm-agent

# busybox has no flock: a directory is the lock (mkdir is atomic).
tsvm_locked() {
    until mkdir /run/tsvm-agent/lock 2>/dev/null; do usleep 5000; done
    "$@"
    rmdir /run/tsvm-agent/lock
}

tsvm_run() { # ID SECS B64
    d=/run/tsvm-agent/$1
    mkdir -p "$d"
    echo "$3" | base64 -d >"$d/cmd" 2>/dev/null
    timeout -s KILL "$2" /bin/sh "$d/cmd" </dev/null >"$d/out" 2>"$d/err"
    rc=$?
    {
        echo "@@TSVM-OUT $1"
        base64 "$d/out"
        echo "@@TSVM-ERR $1"
        base64 "$d/err"
        echo "@@TSVM-END $1 $rc"
    } >"$d/reply"
    tsvm_locked cat "$d/reply"
    rm -rf "$d"
}

while read -r tag id secs b64; do
    case $tag in
        X) tsvm_run "$id" "$secs" "$b64" </dev/null & ;;
    esac
done
