#!/usr/bin/env bash
# Remote control over TLS: `vsctl pki` makes the certificates; a client
# with a good certificate works; one from another CA, an expired one and
# none at all are refused before any command runs; plain TCP only when
# asked for (and warned about); a client that sends garbage or never
# finishes its handshake does not disturb a good one; the unix socket
# refuses users other than root.  Loopback only.
. "$(dirname "$0")/lib.sh"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
expect_err() { # description regex command...
    local what=$1 re=$2; shift 2
    if "$@" >"$RUN/out" 2>&1; then fail "$what (exit 0)"; sed 's/^/    /' "$RUN/out"
    elif grep -Eq "$re" "$RUN/out"; then pass "$what"
    else fail "$what (message)"; sed 's/^/    /' "$RUN/out"; fi
}
LOG_FROM=1
log_mark() { LOG_FROM=$(($(wc -l <"$RUN/log") + 1)); }
log_has() { # regex: waits up to 3 s for the log (since log_mark) to match
    for _ in $(seq 30); do
        tail -n +"$LOG_FROM" "$RUN/log" | grep -Eq "$1" && return 0; sleep 0.1
    done
    return 1
}
no_bridge() { ! vsctl list-br | grep -qx "$1"; }

# ---- Certificates: three commands per side, plus a second CA ----------
PKI=$RUN/pki
mkdir -p "$PKI/certs"
export TRACKSWITCH_PKI_DIR=$PKI/ca
check "pki init" "$VSCTL_BIN" pki init
check "pki req server" "$VSCTL_BIN" pki req "$PKI/certs/server"
check "pki sign server" "$VSCTL_BIN" pki sign "$PKI/certs/server"
check "pki req+sign client" "$VSCTL_BIN" pki req+sign "$PKI/certs/client"
check "pki expired client" "$VSCTL_BIN" pki req+sign "$PKI/certs/old" days=-1
check "pki second CA" "$VSCTL_BIN" pki init dir="$PKI/other"
check "pki client of the second CA" \
    "$VSCTL_BIN" pki req+sign "$PKI/certs/stranger" dir="$PKI/other"
check "private keys are 0600" sh -c \
    "[ \$(stat -c %a '$PKI/certs/client-privkey.pem') = 600 ] && [ \$(stat -c %a '$PKI/ca/cakey.pem') = 600 ]"
check "openssl verifies the client certificate" \
    openssl verify -CAfile "$PKI/ca/cacert.pem" "$PKI/certs/client-cert.pem"
expect_err "pki init twice" "already exists" "$VSCTL_BIN" pki init
expect_err "pki sign without a request" "cannot read" \
    "$VSCTL_BIN" pki sign "$PKI/certs/nobody"

C=$PKI/certs
SRV_TLS=(--private-key="$C/server-privkey.pem" --certificate="$C/server-cert.pem"
         --ca-cert="$PKI/ca/cacert.pem")
PORT=$(free_port)
expect_err "ssl listener needs the key files" "private key" \
    "$VSWITCHD" --db="$RUN/x.db" --ctl="unix:$RUN/x.ctl" --listen=ssl:127.0.0.1:$PORT
expect_err "bad --listen target" "invalid target" \
    "$VSWITCHD" --db="$RUN/x.db" --ctl="unix:$RUN/x.ctl" --listen=ssl:127.0.0.1:99999
start_vswitchd --listen=ssl:127.0.0.1:$PORT "${SRV_TLS[@]}" || exit 1
check "daemon listens on unix and TLS" log_has "listening on pssl:127.0.0.1:$PORT"

# A client that connects and never starts its handshake; it must be
# dropped after the handshake timeout (checked at the end).
python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(30)' "$PORT" &
SILENT=$!

tls() { # CERTNAME|none vsctl-args...
    local who=$1; shift
    local keys=()
    [ "$who" != none ] && keys=(--private-key="$C/$who-privkey.pem" --certificate="$C/$who-cert.pem")
    "$VSCTL_BIN" -t 5 --server=ssl:127.0.0.1:$PORT --ca-cert="$PKI/ca/cacert.pem" "${keys[@]}" "$@"
}

# ---- Good certificate ---------------------------------------------------
check "good certificate: show" tls client show
check "good certificate: add-br" tls client add-br "${P}ok"
check "the change is applied (seen on the unix socket)" sh -c \
    "$VSCTL_BIN --server=unix:$RUN/ctl list-br | grep -qx ${P}ok"
check "log names the peer certificate" log_has "peer subject 'CN=client,"

# ---- Refusals -----------------------------------------------------------
log_mark
expect_err "certificate from another CA is refused" "unknown ca|refused" \
    tls stranger add-br "${P}b1"
check "  and its command did not run" no_bridge "${P}b1"
check "  log says why" log_has "refused: .*certificate verify failed.*unable to get"
log_mark
expect_err "expired certificate is refused" "expired" tls old add-br "${P}b2"
check "  and its command did not run" no_bridge "${P}b2"
check "  log says why" log_has "refused: .*certificate has expired"
log_mark
expect_err "no certificate is refused" "certificate required|refused" \
    tls none add-br "${P}b3"
check "  and its command did not run" no_bridge "${P}b3"
check "  log says why" log_has "refused: .*did not return a certificate"
expect_err "client that does not trust the daemon's CA stops" \
    "certificate verify failed" \
    "$VSCTL_BIN" -t 5 --server=ssl:127.0.0.1:$PORT --ca-cert="$PKI/other/cacert.pem" \
    --private-key="$C/stranger-privkey.pem" --certificate="$C/stranger-cert.pem" add-br "${P}b4"
check "  and its command did not run" no_bridge "${P}b4"
expect_err "ssl: without --ca-cert is a clear error" "ca-cert" \
    "$VSCTL_BIN" -t 5 --server=ssl:127.0.0.1:$PORT show
expect_err "plain TCP to the TLS port is refused" "failed|closed" \
    "$VSCTL_BIN" -t 5 --server=tcp:127.0.0.1:$PORT add-br "${P}b5"
check "  and its command did not run" no_bridge "${P}b5"
expect_err "invalid --server" "expected unix:PATH, ssl:HOST:PORT" \
    "$VSCTL_BIN" --server=ssl:nohostport show

# ---- Protocol versions: TLS 1.2 and later ------------------------------
s_client() { # openssl s_client options...
    (sleep 0.5) | timeout 5 openssl s_client -connect 127.0.0.1:$PORT \
        -cert "$C/client-cert.pem" -key "$C/client-privkey.pem" \
        -CAfile "$PKI/ca/cacert.pem" "$@" 2>&1
}
check "TLS 1.2 is accepted" sh -c "$(declare -f s_client); PORT=$PORT C=$C PKI=$PKI; \
    s_client -tls1_2 | grep -q 'Protocol *: TLSv1.2'"
log_mark
s_client -tls1_1 >/dev/null
check "TLS 1.1 is refused" log_has "refused: TLS handshake failed: unsupported protocol"

# ---- Garbage and stalled handshakes do not disturb a good client --------
log_mark
python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x16\x03\x01\xff\xff" + b"garbage" * 1000)
time.sleep(3)' "$PORT" &
GARBAGE=$!
python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x16\x03\x01\x00\x10")      # a record header, then nothing
time.sleep(30)' "$PORT" &
STALLED=$!
sleep 0.3
check "a good client works next to garbage and stalled peers" sh -c \
    "for i in 1 2 3 4 5; do $VSCTL_BIN -t 5 --server=ssl:127.0.0.1:$PORT --ca-cert=$PKI/ca/cacert.pem \
     --private-key=$C/client-privkey.pem --certificate=$C/client-cert.pem show >/dev/null || exit 1; done"
check "the garbage client was refused" log_has "refused: TLS handshake failed: (packet length too long|wrong version|record)"
check "the unix socket still works" vsctl show
wait "$GARBAGE" 2>/dev/null
# The silent client connected before everything above; it is dropped 10 s
# after it connected.
LOG_FROM=1
for _ in $(seq 120); do grep -q "handshake not finished" "$RUN/log" && break; sleep 0.1; done
check "a client that never finishes its handshake is dropped" \
    log_has "refused: TLS handshake not finished after 10 seconds"
kill "$SILENT" "$STALLED" 2>/dev/null; wait 2>/dev/null

# ---- The unix socket refuses other users --------------------------------
chmod 755 "$RUN"                # let nobody reach the socket file
expect_err "nobody: the socket file (0600) denies access" "Permission denied" \
    setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$VSCTL_BIN" -t 5 --server=unix:$RUN/ctl add-br "${P}n1"
chmod 666 "$RUN/ctl"            # a loosened mode: the peer check still holds
log_mark
expect_err "nobody: the daemon refuses uid 65534" "permission denied: uid 65534" \
    setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$VSCTL_BIN" -t 5 --server=unix:$RUN/ctl add-br "${P}n2"
check "  and its command did not run" no_bridge "${P}n2"
check "  log says why" log_has "refused connection on unix:.* from uid 65534"
chmod 700 "$RUN"
check "root still uses the unix socket" vsctl show
stop_vswitchd

# ---- Plain TCP only when asked for, with a warning ----------------------
TPORT=$(free_port)
log_mark
start_vswitchd --listen=tcp:127.0.0.1:$TPORT || exit 1
check "--listen=tcp: warns in the log" log_has "listening on ptcp:127.0.0.1:$TPORT without TLS"
check "--listen=tcp: accepts plain TCP" \
    "$VSCTL_BIN" -t 5 --server=tcp:127.0.0.1:$TPORT add-br "${P}tcp"
check "  and applies the change" sh -c \
    "$VSCTL_BIN --server=unix:$RUN/ctl list-br | grep -qx ${P}tcp"
check "  and the daemon has no TLS listener" sh -c "! tail -n +$LOG_FROM '$RUN/log' | grep -q 'listening on pssl'"
vsctl del-br "${P}tcp" >/dev/null 2>&1
vsctl del-br "${P}ok" >/dev/null 2>&1
stop_vswitchd
