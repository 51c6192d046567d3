#!/usr/bin/python3
"""Write the fuzz harnesses' seed corpora into tests/fuzz/corpus/ (run it
again after changing the formats; the output is deterministic).

  mkcorpus.py

corpus/mgmt_msg/  management protocol messages, good and bad
corpus/conf/      configuration files and crypto profiles
corpus/inbound/   frames for the outer port: ESP sealed with the test keys
                  of fz_inbound.c (byte i of key||salt is 0x10 + i, or
                  0x40 + i for the IPv6 SA), and the ways it goes wrong;
                  seal-*: inputs of the harness's sealed mode (fz_seal.h),
                  plaintext that the harness seals itself;
                  top-*: the same behind "TOPW" | T, windows starting at T
                  near 2^32, so that the ESN high half is 1 (or wraps)
"""
import os
import shutil
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, IPv6, Raw, raw
from scapy.layers.inet6 import ICMPv6ND_NS, IPv6ExtHdrFragment

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
KS4 = bytes(0x10 + i for i in range(36))
KS6 = bytes(0x40 + i for i in range(36))
SPI4, SPI6 = 0x1001, 0x1006
OA, OB = "203.0.113.1", "203.0.113.2"
HA, HB = "192.0.2.1", "192.0.2.2"
HA6, HB6 = "2001:db8:1::1", "2001:db8:1::2"
L2 = Ether(src="02:00:00:00:01:b0", dst="02:00:00:00:01:00")


def payload(n, seed):
    return bytes((seed * 31 + i * 7) & 0xff for i in range(n))


def esp(ks, spi, seq, inner, nh, bad_pad=False):
    """RFC 4303/4106 with ESN: AAD = SPI | seq high | seq low, nonce = salt | IV."""
    pad = (-(len(inner) + 2)) % 4 or (4 if bad_pad else 0)
    padding = bytes([0xee] * pad) if bad_pad else bytes(range(1, pad + 1))
    iv = struct.pack(">Q", seq)
    aad = struct.pack(">III", spi, seq >> 32, seq & 0xffffffff)
    ct = AESGCM(ks[:32]).encrypt(ks[32:36] + iv, inner + padding + bytes([pad, nh]), aad)
    return struct.pack(">II", spi, seq & 0xffffffff) + iv + ct


def outer4(data, src=OA, dst=OB, sport=4500, dport=4500, **ip):
    return raw(L2 / IP(src=src, dst=dst, flags="DF", **ip) / UDP(sport=sport, dport=dport,
                                                                  chksum=0) / Raw(data))


def inner4(n, seed, src=HA, dst=HB):
    return raw(IP(src=src, dst=dst) / UDP(sport=5000, dport=6000) / Raw(payload(n, seed)))


def inner6(n, seed):
    return raw(IPv6(src=HA6, dst=HB6) / UDP(sport=5000, dport=6000) / Raw(payload(n, seed)))


def inbound():
    f = {}
    for i, (n, seq) in enumerate([(1, 1), (64, 2), (333, 7), (1000, 1000), (1400, 0x7ffffff0)]):
        f[f"esp4-{n}"] = outer4(esp(KS4, SPI4, seq, inner4(n, i), 4))
    f["esp4-tcp"] = outer4(esp(KS4, SPI4, 3, raw(IP(src=HA, dst=HB) / TCP(
        sport=49152, dport=4444, flags="S", options=[("MSS", 1460)])), 4))
    f["esp6-100"] = outer4(esp(KS6, SPI6, 5, inner6(100, 1), 41))
    f["esp6-1200"] = outer4(esp(KS6, SPI6, 9, inner6(1200, 2), 41))
    good = bytearray(outer4(esp(KS4, SPI4, 4, inner4(200, 3), 4)))
    good[-1] ^= 1
    f["esp4-badicv"] = bytes(good)
    f["esp4-unknown-spi"] = outer4(esp(KS4, 0x7777, 1, inner4(50, 4), 4))
    f["esp4-wrong-peer"] = outer4(esp(KS4, SPI4, 1, inner4(50, 5), 4), src="203.0.113.9")
    f["esp4-wrong-sport"] = outer4(esp(KS4, SPI4, 1, inner4(50, 5), 4), sport=4501)
    f["esp4-bad-nh"] = outer4(esp(KS4, SPI4, 1, inner4(50, 6), 99))
    f["esp4-bad-pad"] = outer4(esp(KS4, SPI4, 1, inner4(51, 7), 4, bad_pad=True))
    f["esp4-selector"] = outer4(esp(KS4, SPI4, 1, inner4(50, 8, src="192.0.2.9"), 4))
    bad_inner = bytearray(inner4(80, 9))
    bad_inner[3] ^= 0x40  # total length no longer the packet's
    f["esp4-inner-len"] = outer4(esp(KS4, SPI4, 1, bytes(bad_inner), 4))
    f["esp4-inner-v6-on-v4"] = outer4(esp(KS4, SPI4, 1, inner6(60, 10), 41))
    f["esp4-seq0"] = outer4(esp(KS4, SPI4, 0, inner4(10, 11), 4))
    f["esp4-short"] = outer4(esp(KS4, SPI4, 1, inner4(10, 12), 4)[:30])
    f["esp4-misaligned"] = outer4(esp(KS4, SPI4, 1, inner4(10, 12), 4) + b"\0")
    f["esp4-udplen"] = bytes(outer4(esp(KS4, SPI4, 1, inner4(10, 13), 4)))[:-3] + b"\0\0\0"
    f["ike-spi0"] = outer4(b"\0\0\0\0" + payload(60, 14))
    f["natt-keepalive"] = outer4(b"\xff")
    opt = L2 / IP(src=OA, dst=OB, options=[b"\x01\x01\x01\x00"]) / UDP(sport=4500, dport=4500) \
        / Raw(esp(KS4, SPI4, 1, inner4(20, 15), 4))
    f["esp4-ipopt"] = raw(opt)
    frag = L2 / IP(src=OA, dst=OB, flags="MF", frag=0) / UDP(sport=4500, dport=4500) \
        / Raw(esp(KS4, SPI4, 1, inner4(20, 16), 4))
    f["esp4-frag"] = raw(frag)
    f["esp6-outer"] = raw(L2 / IPv6(src="2001:db8:ff::1", dst="2001:db8:ff::2") /
                          UDP(sport=4500, dport=4500) / Raw(esp(KS4, SPI4, 1, inner4(30, 17), 4)))
    f["esp6-outer-frag"] = raw(L2 / IPv6(src="2001:db8:ff::1", dst="2001:db8:ff::2") /
                               IPv6ExtHdrFragment(m=1) / UDP(sport=4500, dport=4500) /
                               Raw(payload(40, 18)))
    f["plain-bypass"] = raw(L2 / IP(src="198.51.100.7", dst=HB) / UDP(sport=1, dport=2) /
                            Raw(payload(40, 19)))
    f["plain-bypass-icmp"] = raw(L2 / IP(src="198.51.100.8", dst=HB) / ICMP() / Raw(b"x" * 8))
    f["plain-for-sa"] = raw(L2 / IP(src=HA, dst=HB) / UDP(sport=1, dport=2) / Raw(b"p" * 20))
    f["plain-other"] = raw(L2 / IP(src="198.51.100.7", dst="192.0.2.77") / UDP() / Raw(b"q"))
    f["plain-other-port"] = outer4(esp(KS4, SPI4, 1, inner4(10, 20), 4), dport=4501)
    f["arp-request"] = raw(Ether(src="02:00:00:00:01:b0", dst="ff:ff:ff:ff:ff:ff") /
                           ARP(op=1, hwsrc="02:00:00:00:01:b0", psrc=OB, pdst=OA))
    f["arp-reply"] = raw(Ether(src="02:00:00:00:01:b0", dst="02:00:00:00:01:00") /
                         ARP(op=2, hwsrc="02:00:00:00:01:b0", psrc=OB, pdst=OA))
    f["nd-ns"] = raw(Ether(src="02:00:00:00:01:b0", dst="33:33:ff:00:00:01") /
                     IPv6(src="2001:db8:ff::2", dst="ff02::1:ff00:1", hlim=255) /
                     ICMPv6ND_NS(tgt="2001:db8:ff::1"))
    f["l2-other"] = raw(Ether(src="02:00:00:00:01:b0", dst="02:00:00:00:01:00", type=0x88b5) /
                        Raw(payload(50, 21)))
    f["runt"] = raw(L2)[:10]
    return f


def mgmt_msg():
    key, nonce = "ab" * 32, "cd" * 8
    sel = '"src=192.0.2.1/32,dst=192.0.2.2/32"'
    start = ('{"v":1,"op":"start","id":"mig-1","vm":"web 1","policy":"required",'
             '"role":"source","peer":"203.0.113.2","selectors":[' + sel + '],'
             '"lifetime_s":3600,"key":"' + key + '","nonce":"' + nonce + '"}')
    full = ('{"v":1,"op":"start","id":"m.2_x","vm":"db","policy":"opportunistic",'
            '"role":"destination","peer":"2001:db8:ff::1","selectors":['
            '"src=2001:db8:1::1/128,dst=2001:db8:1::2/128,proto=tcp,sport=1000-2000,dport=8000",'
            '"src=2001:db8:1::/64,dst=2001:db8:2::/64,proto=udp"],"lifetime_s":604800,'
            '"key":"' + key + '","nonce":"' + nonce + '","max_bytes":1048576,"rekey_s":60,'
            '"rekey_bytes":2097152,"replay_window":4096,"note":"downgrade test","lanes":16}')
    return {
        "start": start,
        "start-full": full,
        "start-disabled": ('{"v":1,"op":"start","id":"p","vm":"v","policy":"disabled",'
                           '"role":"source","peer":"203.0.113.2","selectors":[' + sel + ','
                           '"src=192.0.2.0/24,dst=192.0.2.0/24,proto=icmp"],"lifetime_s":1}'),
        "start-dup-key": start[:-1] + ',"id":"again"}',
        "start-unknown": start[:-1] + ',"colour":"red"}',
        "rekey": '{"v":1,"op":"rekey","id":"mig-1"}',
        "end": '{"v":1,"op":"end","id":"mig-1"}',
        "status": '{"v":1,"op":"status"}',
        "status-id": '{"v":1,"op":"status","id":"mig-1"}',
        "health": '{"op":"health","v":1}',
        "bad-version": '{"v":2,"op":"health"}',
        "bad-op": '{"v":1,"op":"reboot"}',
        "not-object": '[1,2,3]',
        "escapes": '{"v":1,"op":"end","id":"m\\u0000x"}',
        "unicode": '{"v":1,"op":"start","id":"m","vm":"\u00e9\u00e9","note":"\\ud83d\\ude00"}',
    }


def conf():
    example = open(os.path.join(TOP, "conf", "migsec.conf.example")).read()
    profiles = {n: open(os.path.join(TOP, "pmd-profiles", n + ".conf")).read()
                for n in ("aesni_gcm", "qat", "failover")}
    lab = """name = "apA";
eal: { lcores = "0@1,1@0"; main_lcore = 0; file_prefix = "ms-apA"; memory_mb = 256;
  hugepages = "auto"; log_level = "info"; args = [ "--no-telemetry" ]; };
crypto: { profile = "aesni_gcm"; profile_dir = "/usr/share/migsec/pmd-profiles"; };
inner: { device = "net_af_packet0,iface=inner,qpairs=1"; ipv4 = "192.0.2.253/24";
  ipv6 = "2001:db8:1::fd/64"; mtu = 1500; };
outer: { device = "net_af_packet1,iface=outer,qpairs=1"; ipv4 = "203.0.113.1/24";
  ipv6 = "2001:db8:ff::1/64"; gateway4 = "203.0.113.254"; mtu = 9000; udp_port = 4500; };
remote = ( { prefix = "192.0.2.2/32"; via = "203.0.113.2"; },
  { prefix = "2001:db8:1::2/128"; via = "2001:db8:ff::2"; proxy = false; } );
policy: { default = "bypass"; replay_window = 64; mss_clamp = false; };
limits: { mbufs = 16384; mbuf_size = 9200; max_sa = 1024; burst = 64; };
control: { socket = "/run/migsec/apA.sock"; user = "nobody"; };
mgmt: {
  listen = "198.51.100.2:7443";
  ca = "/etc/migsec/ca.pem"; cert = "/etc/migsec/apA.pem"; key = "/etc/migsec/apA.key";
  clients = ( { identity = "CN=migsecctl"; role = "operator"; },
    { identity = "DNS:orchestrator.lab"; role = "admin"; } );
  peers = [ "203.0.113.2", "2001:db8:ff::2" ]; crl = "/etc/migsec/ca.crl";
  user = "nobody"; max_connections = 4; timeout_s = 3;
  audit_file = "/var/log/migsec/audit.jsonl";
  rekey_s = 600; rekey_mbytes = 4096; drain_s = 2; drop_report_s = 2;
};
"""
    return {
        "example.conf": example,
        "lab.conf": lab,
        "profile.conf": profiles["aesni_gcm"].replace('name = "aesni_gcm"', 'name = "fz"'),
        "profile-qat.conf": profiles["qat"].replace('name = "qat"', 'name = "fz"'),
        "profile-failover.conf": profiles["failover"].replace('name = "failover"', 'name = "fz"'),
        "profile-failover-sw.conf": profiles["failover"].replace('name = "failover"', 'name = "fz"')
                                    .replace('primary = "qat"', 'primary = "openssl"'),
        "minimal.conf": 'eal: { lcores = "0,1"; };\ninner: { device = "net_ring0"; '
                        'ipv4 = "192.0.2.253/24"; };\nouter: { device = "net_ring1"; '
                        'ipv6 = "2001:db8:ff::1/64"; };\n',
        "bad-range.conf": lab.replace("mtu = 9000", "mtu = 70000"),
        "bad-syntax.conf": lab.replace("};\ncrypto", "}\ncrypto"),
    }


def sealed(ctl, seq, plaintext):
    """fz_inbound's sealed mode (fz_seal.h): the harness seals the plaintext."""
    return b"SEAL" + bytes([ctl]) + struct.pack(">I", seq) + plaintext


def inbound_sealed():
    """Seeds for what lies behind the ICV: good and bad inner packets and
    trailers, sealed by the harness itself."""
    udp6 = raw(IPv6(src=HA6, dst=HB6) / UDP(sport=5000, dport=6000) / Raw(payload(30, 21)))
    ext6 = raw(IPv6(src=HA6, dst=HB6, nh=0) / b"\x3c\0\0\0\0\0\0\0" /
               b"\x11\0\0\0\0\0\0\0" / UDP(sport=1, dport=2) / Raw(b"e" * 8))
    bad_len = bytearray(inner4(40, 22))
    bad_len[3] ^= 4
    return {
        "seal-udp4": sealed(0, 1, inner4(100, 23)),
        "seal-udp4-pad": sealed(4 * 7, 2, inner4(33, 24)),
        "seal-tcp4": sealed(0, 3, raw(IP(src=HA, dst=HB) / TCP(sport=1, dport=2, flags="S"))),
        "seal-udp6": sealed(1, 4, udp6),
        "seal-ext6": sealed(1, 5, ext6),
        "seal-v6-in-v4-sa": sealed(0, 6, udp6),
        "seal-inner-len": sealed(0, 7, bytes(bad_len)),
        "seal-selector": sealed(0, 8, inner4(20, 25, src="192.0.2.9")),
        "seal-raw-bad-nh": sealed(2, 9, inner4(18, 26) + b"\x00\x29"),
        "seal-raw-bad-pad": sealed(2, 10, inner4(16, 27) + b"\x01\x03\x02\x04"),
        "seal-seq-high": sealed(0, 0x80000001, inner4(10, 28)),
    }


def topw(t, data):
    """fz_inbound's window top (fz_seal.h): the inbound windows start at T."""
    return b"TOPW" + struct.pack(">Q", t) + data


def inbound_high():
    """Numbers past 2^32: opened only with the ESN high half rule 6 gives."""
    t = (1 << 32) + 5          # high half 1, low half 5
    near = (1 << 32) - 3       # high half 0, just below the wrap
    return {
        "top-esp4-hi1": topw(t, outer4(esp(KS4, SPI4, t + 7, inner4(80, 29), 4))),
        "top-esp6-hi1": topw(t, outer4(esp(KS6, SPI6, t + 1, inner6(60, 30), 41))),
        "top-esp4-wrap": topw(near, outer4(esp(KS4, SPI4, near + 9, inner4(40, 31), 4))),
        "top-esp4-below": topw(t, outer4(esp(KS4, SPI4, t - 100, inner4(40, 32), 4))),
        "top-esp4-hi0": topw(t, outer4(esp(KS4, SPI4, 7, inner4(40, 33), 4))),
        "top-esp4-top": topw(t, outer4(esp(KS4, SPI4, t, inner4(40, 34), 4))),
        "top-esp4-old": topw(t, outer4(esp(KS4, SPI4, t - 2000, inner4(40, 35), 4))),
        "top-seal-udp4": topw(t, sealed(0, 9, inner4(70, 36))),
        "top-seal-udp6": topw(t, sealed(1, 2, inner6(50, 37))),
        "top-seal-wrap": topw(near, sealed(0, 4, inner4(30, 38))),
        "top-seal-below": topw(t, sealed(0, 0xfffffff0, inner4(30, 39))),
        "top-seal-top": topw(t, sealed(0, 5, inner4(30, 40))),
        "top-seal-old": topw(t, sealed(0, (t - 1500) & 0xffffffff, inner4(30, 41))),
    }


def write(name, files):
    d = os.path.join(HERE, "corpus", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for fname, data in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
    print(f"{d}: {len(files)} files")


def main():
    write("inbound", {**inbound(), **inbound_sealed(), **inbound_high()})
    write("mgmt_msg", mgmt_msg())
    write("conf", conf())


if __name__ == "__main__":
    main()
