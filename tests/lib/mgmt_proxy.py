#!/usr/bin/python3
"""A TCP relay in front of an appliance's management port that breaks the
connections it is told to: what an attacker on the path can do to TLS
without any key (tests/integration/it_mgmt_abuse.py).

  mgmt_proxy.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT RESET
RESET: "all", or connection numbers counted from 1 ("2" or "2,3"): those
are accepted and reset at once (SO_LINGER 0); the others are relayed.
Prints "ready" once listening, and one line per connection; runs until
killed.
"""
import socket
import struct
import sys
import threading


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(c, target):
    try:
        t = socket.create_connection(target, timeout=5)
    except OSError:
        c.close()
        return
    t.settimeout(None)
    threading.Thread(target=pipe, args=(c, t), daemon=True).start()
    threading.Thread(target=pipe, args=(t, c), daemon=True).start()


def main():
    lhost, lport, thost, tport, reset = sys.argv[1:6]
    broken = None if reset == "all" else {int(x) for x in reset.split(",")}
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((lhost, int(lport)))
    ls.listen(16)
    print("ready", flush=True)
    n = 0
    while True:
        c, _ = ls.accept()
        n += 1
        if broken is None or n in broken:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            print(f"{n}: reset", flush=True)
        else:
            relay(c, (thost, int(tport)))
            print(f"{n}: relayed", flush=True)


if __name__ == "__main__":
    sys.exit(main())
