#!/usr/bin/env python3
"""A hostile control-protocol client for test-ctl-robust.sh.

Usage: ctl-abuse.py SOCKET MODE [SEED]

Modes (each prints one summary line, exits 0 if the daemon behaved):
  malformed  well-framed messages with bad bodies, unknown types, bad
             versions and out-of-order requests on one connection; every
             one must get an ERROR reply with its xid, and the connection
             must stay usable (an ECHO at the end is answered).
  truncated  connections that send part of a frame and close, a length
             field below the header size, and a frame cut mid-way; the
             daemon must close them or keep waiting, never answer garbage.
  random     random bytes and random well-framed messages from a seeded
             generator; whatever the daemon answers must be well framed.
  slow       a client that pipelines big ECHO requests and never reads;
             the daemon must disconnect it (not block, not grow forever).
  silent     a client that says HELLO and then nothing: the daemon must
             probe it with ECHO_REQUEST after its probe interval (SEED
             seconds, default 5) and
             disconnect it one interval later; a client that answers the
             probe stays connected.
"""

import os
import random
import socket
import struct
import sys
import time

VERSION = 1
HELLO, ERROR, ECHO_REQUEST, ECHO_REPLY = 0, 1, 2, 3
BARRIER_REQUEST, BARRIER_REPLY, OK = 4, 5, 6
MULTIPART_REQUEST, MULTIPART_REPLY = 7, 8


def frame(mtype, xid, body=b"", version=VERSION):
    return struct.pack("!BBHI", version, mtype, 8 + len(body), xid) + body


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def recv_msg(s):
    hdr = recv_exact(s, 8)
    version, mtype, length, xid = struct.unpack("!BBHI", hdr)
    if length < 8:
        raise ValueError("daemon sent a frame shorter than its header")
    body = recv_exact(s, length - 8)
    return version, mtype, xid, body


def hello(s):
    s.sendall(frame(HELLO, 0, struct.pack("!I", 1 << VERSION)))
    version, mtype, _, _ = recv_msg(s)
    if mtype != HELLO or version != VERSION:
        raise ValueError("expected HELLO, got type %d" % mtype)


def string(text):
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def expect_error(s, xid, what):
    version, mtype, rxid, body = recv_msg(s)
    if mtype != ERROR or rxid != xid:
        raise ValueError("%s: expected ERROR for xid %d, got type %d xid %d"
                         % (what, xid, mtype, rxid))
    return body[4:].decode(errors="replace")


def echo_ok(s, xid=0xeeee):
    payload = b"still alive"
    s.sendall(frame(ECHO_REQUEST, xid, payload))
    while True:
        _, mtype, rxid, body = recv_msg(s)
        if rxid == xid:
            return mtype == ECHO_REPLY and body == payload


def mode_malformed(path):
    s = connect(path)
    hello(s)
    cases = [
        ("unknown type 200", frame(200, 0, b"")),
        ("unknown type 127", frame(127, 0, b"\0" * 16)),
        ("ADD_BR body too short", frame(16, 0, b"\0\0")),
        ("ADD_BR string longer than body",
         frame(16, 0, struct.pack("!I", 0) + struct.pack("!H", 500) + b"x")),
        ("ADD_BR trailing bytes",
         frame(16, 0, struct.pack("!I", 0) + string("x") + b"junk")),
        ("ADD_PORT NUL in name",
         frame(18, 0, struct.pack("!II", 0, 0) + string("br")
               + string("p\0q") + string("") + struct.pack("!H", 0))),
        ("FLOW_MOD garbage", frame(32, 0, string("br") + os.urandom(40))),
        ("FLOW_MOD bad TLV length",
         frame(32, 0, string("br") + b"\0" * 24 + struct.pack("!HH", 1, 2))),
        ("BUNDLE_COMMIT of no bundle", frame(35, 0, struct.pack("!I", 77))),
        ("BUNDLE_ADD to no bundle", frame(34, 0, struct.pack("!I", 78))),
        ("MULTIPART_REQUEST unknown kind",
         frame(MULTIPART_REQUEST, 0, struct.pack("!HH", 250, 0))),
        ("MULTIPART_REPLY from a client",
         frame(MULTIPART_REPLY, 0, struct.pack("!HH", 16, 0))),
        ("ERROR from a client", frame(ERROR, 0, struct.pack("!HH", 1, 1))),
        ("OK from a client", frame(OK, 0)),
        ("LOG_LEVEL bad spec", frame(64, 0, string("nosuch:level"))),
        ("PACKET_OUT to no bridge",
         frame(48, 0, string("nobridge") + struct.pack("!IH", 1, 0)
               + b"\xff" * 60)),
        ("CT_SET_TCP_SEQ_CHK out of range", frame(86, 0, struct.pack("!I", 9))),
        ("CT_FLUSH garbage", frame(80, 0, os.urandom(7))),
        ("DEL_BR of a missing bridge",
         frame(17, 0, struct.pack("!I", 0) + string("nosuchbr"))),
        ("second HELLO with no common version",
         frame(HELLO, 0, struct.pack("!I", 1 << 7), version=7)),
    ]
    n = 0
    for xid, (what, data) in enumerate(cases, start=100):
        data = data[:4] + struct.pack("!I", xid) + data[8:]
        s.sendall(data)
        if what.startswith("second HELLO"):
            # Either an ERROR or silence: both are fine; the connection may
            # close.  Checked last.
            break
        text = expect_error(s, xid, what)
        if not text:
            raise ValueError("%s: ERROR without text" % what)
        n += 1
    # A wrong header version on a normal request is refused with an error
    # on a fresh connection, and the daemon keeps serving.
    s.close()
    s = connect(path)
    hello(s)
    s.sendall(frame(ECHO_REQUEST, 900, b"v", version=9))
    text = expect_error(s, 900, "bad header version")
    if not echo_ok(s):
        raise ValueError("connection unusable after errors")
    s.close()
    print("malformed: %d bad requests refused with ERROR, connection kept"
          % (n + 1))


def mode_truncated(path):
    n = 0
    # Half a header, then close.
    s = connect(path)
    hello(s)
    s.sendall(b"\x01\x02\x00")
    s.close()
    n += 1
    # A length field below the header size: the daemon closes.
    s = connect(path)
    hello(s)
    s.sendall(struct.pack("!BBHI", 1, ECHO_REQUEST, 4, 1))
    try:
        while True:
            _, mtype, _, _ = recv_msg(s)
    except (EOFError, ConnectionResetError):
        n += 1
    except socket.timeout:
        raise ValueError("daemon kept a connection with a 4-byte frame")
    # A frame announcing 1000 bytes that sends 10 and closes.
    s = connect(path)
    hello(s)
    s.sendall(struct.pack("!BBHI", 1, 16, 1000, 2) + b"\0" * 10)
    s.close()
    n += 1
    # A frame cut mid-way on a live connection: no reply until it is
    # complete, then the right one.
    s = connect(path)
    hello(s)
    full = frame(ECHO_REQUEST, 3, b"abcdefgh")
    s.sendall(full[:11])
    s.settimeout(0.5)
    try:
        recv_msg(s)
        raise ValueError("daemon answered an incomplete frame")
    except socket.timeout:
        pass
    s.settimeout(5)
    s.sendall(full[11:])
    _, mtype, xid, body = recv_msg(s)
    if mtype != ECHO_REPLY or xid != 3 or body != b"abcdefgh":
        raise ValueError("wrong reply to a frame sent in two parts")
    s.close()
    n += 1
    print("truncated: %d cut or short frames handled" % n)


def mode_random(path, seed):
    rng = random.Random(seed)
    n_msgs = 0
    for conn in range(40):
        s = connect(path)
        s.settimeout(2)
        try:
            hello(s)
        except Exception:
            s.close()
            continue
        for _ in range(rng.randint(1, 30)):
            kind = rng.random()
            if kind < 0.6:
                mtype = rng.choice(
                    [rng.randrange(256), 7, 16, 18, 32, 33, 34, 37, 48, 64,
                     80, 82, 84, 89])
                body = bytes(rng.randrange(256)
                             for _ in range(rng.randrange(64)))
                data = frame(mtype, rng.randrange(1 << 32), body)
            else:
                data = bytes(rng.randrange(256)
                             for _ in range(rng.randrange(1, 80)))
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                break
            n_msgs += 1
        # Whatever came back must be well framed.
        s.settimeout(0.2)
        try:
            while True:
                recv_msg(s)
        except (socket.timeout, EOFError, ConnectionResetError):
            pass
        s.close()
    print("random: %d random messages on 40 connections (seed %d)"
          % (n_msgs, seed))


def mode_slow(path):
    s = connect(path)
    hello(s)
    s.setblocking(False)
    payload = b"x" * 60000
    sent = 0
    pending = b""
    deadline = time.time() + 20
    closed = False
    while time.time() < deadline:
        if not pending:
            pending = frame(ECHO_REQUEST, sent, payload)
            sent += 1
        try:
            n = s.send(pending)
            pending = pending[n:]
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
    s.close()
    if not closed:
        raise ValueError("a client that never reads was not disconnected "
                         "after %d requests" % sent)
    print("slow: disconnected after %d unread 60 kB echoes" % sent)


def mode_silent(path, interval):
    quiet = connect(path)
    hello(quiet)
    polite = connect(path)
    hello(polite)
    start = time.time()
    quiet.settimeout(3 * interval + 5)
    polite.settimeout(3 * interval + 5)
    _, mtype, xid, body = recv_msg(quiet)
    probe_at = time.time() - start
    if mtype != ECHO_REQUEST or not (0.7 * interval <= probe_at
                                     <= 1.6 * interval + 1):
        raise ValueError("expected an ECHO_REQUEST probe after ~%d s, got "
                         "type %d after %.1f s" % (interval, mtype, probe_at))
    # The polite client answers its probe.
    _, mtype, xid, body = recv_msg(polite)
    if mtype != ECHO_REQUEST:
        raise ValueError("the second client got type %d, not a probe" % mtype)
    polite.sendall(frame(ECHO_REPLY, xid, body))
    # The quiet one does not, and is dropped about one interval later.
    try:
        while True:
            recv_msg(quiet)
    except (EOFError, ConnectionResetError):
        closed_at = time.time() - start
    except socket.timeout:
        raise ValueError("a client that ignores probes was not disconnected")
    if not 1.4 * interval <= closed_at <= 2.8 * interval + 2:
        raise ValueError("silent client dropped after %.1f s, expected ~%d"
                         % (closed_at, 2 * interval))
    if not echo_ok(polite):
        raise ValueError("the client that answered its probe was dropped")
    polite.close()
    print("silent: probed after %.1f s, dropped after %.1f s; the client "
          "that answered stays" % (probe_at, closed_at))


def main():
    path, mode = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    try:
        if mode == "malformed":
            mode_malformed(path)
        elif mode == "truncated":
            mode_truncated(path)
        elif mode == "random":
            mode_random(path, seed)
        elif mode == "slow":
            mode_slow(path)
        elif mode == "silent":
            mode_silent(path, int(sys.argv[3]) if len(sys.argv) > 3 else 5)
        else:
            print("unknown mode %s" % mode)
            return 2
    except Exception as e:
        print("%s: %s" % (mode, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
