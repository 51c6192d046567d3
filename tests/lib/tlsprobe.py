#!/usr/bin/python3
"""A deliberately independent management-protocol client (Python ssl), to
poke an appliance with good and bad certificates and messages.

  tlsprobe.py --ca CA [--cert C --key K] HOST PORT MODE [ARG]
  MODE: json TEXT (one request, print the reply), raw-length N (send a
  length prefix N and a few bytes, then close), garbage (bytes that are not
  TLS), handshake (only connect)
Prints one JSON line: {"handshake": true|false, "error": ..., "reply": ...}.
"""
import json
import socket
import ssl
import struct
import sys


def main():
    a = sys.argv[1:]
    opts = {}
    while a and a[0].startswith("--"):
        opts[a[0][2:]] = a[1]
        a = a[2:]
    host, port, mode = a[0], int(a[1]), a[2]
    arg = a[3] if len(a) > 3 else None
    out = {"handshake": False}
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
