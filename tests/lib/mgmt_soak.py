#!/usr/bin/python3
"""Drive many migration life cycles through two appliances' management
protocol (docs/management.md, "Management protocol"), as migsecctl would, but over one
TLS 1.3 connection per appliance so that thousands of cycles are quick.
Run it where the appliances' management addresses are reachable (the lab's
management namespace).

  mgmt_soak.py --ca F --cert F --key F --source HOST:PORT --destination HOST:PORT
               --source-outer IP --destination-outer IP --slots M
               --sel-template 'src=..,dst=..,proto=udp,dport={port}' --base-port P
               [--cycles N] [--seconds S] [--warm N]

M slots hold a migration each; in turn each slot starts one (a fresh
one-shot key and nonce from os.urandom, sent to both appliances), rekeys
it on both, reads its counters (status) and ends it on both: a cycle. No
new cycle starts after N cycles or S seconds (whichever is given and comes
first); those under way are finished. Requests to the two appliances go
out together, as migsecctl's work on both appliances at once. Slot
k's migration covers the flow to port P + k. Prints one JSON line per
progress report ({"cycles": n, ...}) and a summary at the end; "warm" once
N cycles are done (the caller samples its baseline then). Exit status 0,
or 1 with the refused request on stderr.
"""
import argparse
import json
import os
import socket
import ssl
import struct
import sys
import time


class Appliance:
    def __init__(self, addr, ctx):
        host, port = addr.rsplit(":", 1)
        raw = socket.create_connection((host.strip("[]"), int(port)), timeout=60)
        self.s = ctx.wrap_socket(raw, server_hostname=host.strip("[]"))
        self.addr = addr

    calls = 0
    seconds = {}  # per op: time spent waiting for replies

    def send(self, req):
        Appliance.calls += 1
        self.req, self.t = req, time.monotonic()
        body = json.dumps(req, separators=(",", ":")).encode()
        self.s.sendall(struct.pack(">I", len(body)) + body)

    def reply(self):
        head = self.recv(4)
        reply = json.loads(self.recv(struct.unpack(">I", head)[0]))
        op = self.req["op"]
        Appliance.seconds[op] = Appliance.seconds.get(op, 0) + time.monotonic() - self.t
        if not reply.get("ok"):
            req = {k: ("..." if k in ("key", "nonce") else v) for k, v in self.req.items()}
            raise RuntimeError(f"{self.addr} refused {req}: {reply.get('error')}")
        return reply

    def call(self, req):
        self.send(req)
        return self.reply()


    def recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise RuntimeError(f"{self.addr} closed the connection")
            buf += chunk
        return buf


def both(pairs):
    """Send each appliance its request, then read both replies: the two
    appliances work at the same time, as migsecctl's would."""
    for ap, req in pairs:
        ap.send(req)
    return [ap.reply() for ap, _ in pairs]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for o in ("ca", "cert", "key", "source", "destination", "source-outer",
              "destination-outer", "sel-template"):
        p.add_argument("--" + o, required=True)
    p.add_argument("--cycles", type=int, default=0)
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--slots", type=int, required=True)
    p.add_argument("--base-port", type=int, required=True)
    p.add_argument("--warm", type=int, default=0)
    p.add_argument("--report-every", type=int, default=100)
    a = p.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    src, dst = Appliance(a.source, ctx), Appliance(a.destination, ctx)
    state = [None] * a.slots      # per slot: None, ("started", id), ("rekeyed", id)
    done = carried = steps = 0
    serial = 0
    t0 = time.monotonic()
    while True:
        under_way = sum(1 for s in state if s)
        stop = (a.cycles and done + under_way >= a.cycles) or \
            (a.seconds and time.monotonic() - t0 >= a.seconds)
        if stop and under_way == 0:
            break
        k = steps % a.slots
        steps += 1
        st = state[k]
        if st is None:
            if stop:
                continue  # enough cycles under way: let them finish
            serial += 1
            mid = f"soak-{serial}"
            secret = bytearray(os.urandom(40))
            common = {"v": 1, "op": "start", "id": mid, "vm": f"vm-{k}", "policy": "required",
                      "selectors": [a.sel_template.format(port=a.base_port + k)],
                      "lifetime_s": 3600, "key": secret[:32].hex(), "nonce": secret[32:].hex()}
            both([(src, dict(common, role="source", peer=a.destination_outer)),
                  (dst, dict(common, role="destination", peer=a.source_outer))])
            secret[:] = bytes(len(secret))
            common = None
            state[k] = ("started", mid)
        elif st[0] == "started":
            req = {"v": 1, "op": "rekey", "id": st[1]}
            both([(src, req), (dst, req)])
            state[k] = ("rekeyed", st[1])
        else:
            req = {"v": 1, "op": "status", "id": st[1]}
            s, d = (r["migrations"][0] for r in both([(src, req), (dst, req)]))
            carried += s["out_pkts"] > 0 and d["in_pkts"] > 0
            req = {"v": 1, "op": "end", "id": st[1]}
            both([(src, req), (dst, req)])
            state[k] = None
            done += 1
            if done == a.warm:
                print(json.dumps({"warm": done}), flush=True)
            if done % a.report_every == 0:
                print(json.dumps({"cycles": done, "carried_traffic": carried,
                                  "seconds": round(time.monotonic() - t0, 1)}), flush=True)
    for ap in (src, dst):
        h = ap.call({"v": 1, "op": "health"})
        if h["migrations"] != 0:
            raise RuntimeError(f"{ap.addr}: {h['migrations']} migrations left after the soak")
    print(json.dumps({"done": done, "carried_traffic": carried, "requests": Appliance.calls,
                      "seconds": round(time.monotonic() - t0, 1),
                      "seconds_per_op": {k: round(v, 1) for k, v in Appliance.seconds.items()}}),
          flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, OSError, ssl.SSLError) as e:
        print(f"mgmt_soak: {e}", file=sys.stderr)
        sys.exit(1)
