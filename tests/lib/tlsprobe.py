#!/usr/bin/python3
"""A deliberately independent management-protocol client (Python ssl), to
poke an appliance with good and bad certificates and messages.

  tlsprobe.py --ca CA [--cert C --key K] HOST PORT MODE [ARG]
  MODE: json TEXT (one request, print the reply), raw-length N (send a
  length prefix N and a few bytes, then close), garbage (bytes that are not
  TLS), handshake (only connect), repeat "N TEXT" (N requests on one
  connection; prints how many were answered), pipeline "N TEXT" (N
  requests in one write, so in one TLS record; prints how many were
  answered, each within the socket's timeout), trickle S (a length prefix of
  100, then one byte a second for up to S seconds: when did the appliance
  cut it?), flood "N S" (N connections within S seconds, each sending its
  ClientHello and then nothing, all held until the end; needs no
  certificate)
Prints one JSON line: {"handshake": true|false, "error": ..., "reply": ...}.
"""
import json
import socket
import ssl
import struct
import sys
import time


def flood(ctx, host, port, n, seconds):
    """Half-open TLS handshakes: the appliance must hold each only briefly."""
    held, opened, failed = [], 0, 0
    t0 = time.monotonic()
    for i in range(n):
        delay = t0 + seconds * i / n - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            raw = socket.create_connection((host, port), timeout=2)
        except OSError:
            failed += 1
            continue
        opened += 1
        raw.setblocking(False)
        s = ctx.wrap_socket(raw, server_hostname=host, do_handshake_on_connect=False)
        try:
            s.do_handshake()  # sends the ClientHello, then would wait
        except (ssl.SSLWantReadError, ssl.SSLError, OSError):
            pass
        held.append(s)
    took = time.monotonic() - t0
    for s in held:
        s.close()
    return {"opened": opened, "failed": failed, "seconds": round(took, 2)}


def trickle(s, seconds):
    s.sendall(struct.pack(">I", 100))
    t0 = time.monotonic()
    s.settimeout(1)
    while time.monotonic() - t0 < seconds:
        try:
            s.sendall(b" ")
            if s.recv(4096) == b"":
                return {"closed_after": round(time.monotonic() - t0, 2)}
            return {"reply_after": round(time.monotonic() - t0, 2)}
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (ssl.SSLError, OSError) as e:
            return {"closed_after": round(time.monotonic() - t0, 2), "how": str(e)}
    return {"still_open_after": round(time.monotonic() - t0, 2)}


def recv_reply(s):
    hdr = b""
    while len(hdr) < 4:
        chunk = s.recv(4 - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    n, body = struct.unpack(">I", hdr)[0], b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return json.loads(body)


def repeat(s, n, text):
    data = text.encode()
    answered = 0
    for _ in range(n):
        s.sendall(struct.pack(">I", len(data)) + data)
        if recv_reply(s) is None:
            break
        answered += 1
    return {"answered": answered}


def pipeline(s, n, text):
    """Requests the appliance's OpenSSL buffers before poll() could see them."""
    data = text.encode()
    s.sendall((struct.pack(">I", len(data)) + data) * n)
    answered = 0
    try:
        for _ in range(n):
            if recv_reply(s) is None:
                break
            answered += 1
    except (socket.timeout, OSError) as e:
        return {"answered": answered, "error": str(e)}
    return {"answered": answered}


def main():
    a = sys.argv[1:]
    opts = {}
    while a and a[0].startswith("--"):
        opts[a[0][2:]] = a[1]
        a = a[2:]
    host, port, mode = a[0], int(a[1]), a[2]
    arg = a[3] if len(a) > 3 else None
    out = {"handshake": False}
    if mode == "flood":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(opts["ca"])
        n, seconds = arg.split()
        print(json.dumps(flood(ctx, host, port, int(n), float(seconds))))
        return 0
    raw = socket.create_connection((host, port), timeout=10)
    if mode == "garbage":
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n" * 4)
        try:
            out["reply"] = raw.recv(100).hex()
        except OSError as e:
            out["error"] = str(e)
        print(json.dumps(out))
        return 0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(opts["ca"])
    if "cert" in opts:
        ctx.load_cert_chain(opts["cert"], opts["key"])
    try:
        s = ctx.wrap_socket(raw, server_hostname=host)
        out["handshake"] = True
        out["version"] = s.version()
        if mode == "json":
            data = arg.encode()
            s.sendall(struct.pack(">I", len(data)) + data)
        elif mode == "raw-length":
            s.sendall(struct.pack(">I", int(arg)) + b"{\"v\":1")
        elif mode == "repeat":
            n, text = arg.split(" ", 1)
            out.update(repeat(s, int(n), text))
        elif mode == "pipeline":
            n, text = arg.split(" ", 1)
            out.update(pipeline(s, int(n), text))
        elif mode == "trickle":
            out.update(trickle(s, float(arg)))
        if mode in ("json", "raw-length", "handshake"):
            hdr = s.recv(4)  # TLS 1.3: a refused client certificate shows up here
            if len(hdr) == 4:
                n = struct.unpack(">I", hdr)[0]
                body = b""
                while len(body) < n:
                    chunk = s.recv(n - len(body))
                    if not chunk:
                        break
                    body += chunk
                out["reply"] = json.loads(body)
            else:
                out["closed"] = True
    except (ssl.SSLError, OSError) as e:
        out["error"] = str(e)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
