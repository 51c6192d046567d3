#!/usr/bin/python3
"""Integration: what migsec-control refuses, over real TLS.

Client certificates: none, from another CA, expired, not for client
authentication, a subject not allowed - each handshake fails and is audited
with its reason. Then, with a good certificate: malformed, truncated,
oversized and unknown-field messages are refused (and audited) without
harming the appliance; an idle connection is closed.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (MGMT, PY, TLSPROBE, Lab, appliance, check, ctl, log,  # noqa: E402
                        wait_for)


def sh(*cmd, cwd=None):
    subprocess.run(cmd, check=True, capture_output=True, cwd=cwd, timeout=30)


def make_certs(pki, d):
    """Bad client certificates, made here with the openssl CLI."""
    def csr(name, cn):
        sh("openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:P-256", "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr",
           "-subj", f"/CN={cn}")

    def sign(name, ca, cakey, ext):
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(ext + "\n")
        sh("openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", ca, "-CAkey", cakey,
           "-CAcreateserial", "-out", f"{d}/{name}.pem", "-days", "2", "-extfile", f"{d}/{name}.ext")

    client = "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature"
    sh("openssl", "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-keyout", f"{d}/other-ca.key", "-out", f"{d}/other-ca.pem",
       "-days", "2", "-subj", "/CN=someone else's CA")
    csr("wrongca", "migsecctl")
    sign("wrongca", f"{d}/other-ca.pem", f"{d}/other-ca.key", client)
    csr("server", "migsecctl")
    sign("server", f"{pki}/ca.pem", f"{pki}/ca.key", "extendedKeyUsage=serverAuth")
    csr("intruder", "intruder")
    sign("intruder", f"{pki}/ca.pem", f"{pki}/ca.key", client)
    # Expired: openssl ca takes explicit validity dates.
    csr("expired", "migsecctl")
    with open(f"{d}/index.txt", "w"):
        pass
    with open(f"{d}/serial", "w") as f:
        f.write("1000\n")
    with open(f"{d}/ca.cnf", "w") as f:
        f.write(f"[ca]\ndefault_ca=d\n[d]\ndatabase={d}/index.txt\nnew_certs_dir={d}\n"
                f"serial={d}/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n"
                f"[x]\n{client}\n")
    sh("openssl", "ca", "-batch", "-config", f"{d}/ca.cnf", "-cert", f"{pki}/ca.pem", "-keyfile",
       f"{pki}/ca.key", "-in", f"{d}/expired.csr", "-out", f"{d}/expired.pem", "-extensions", "x",
       "-startdate", "20200101000000Z", "-enddate", "20200102000000Z")


def probe(lab, mode, arg=None, cert=None, key=None):
    args = ["--ca", f"{lab.dir}/pki/ca.pem"]
    if cert:
        args += ["--cert", cert, "--key", key]
    cmd = [PY, TLSPROBE, *args, MGMT["apA"], "7443", mode] + ([arg] if arg else [])
    out = subprocess.run(["ip", "netns", "exec", f"{lab.name}-mg", *cmd], capture_output=True,
                         text=True, timeout=60)
    return json.loads(out.stdout) if out.stdout.strip() else {"error": out.stderr}


def audit(lab):
    """apA's audit lines, complete ones only (a line may be half written)."""
    with open(f"{lab.dir}/apA-audit.jsonl") as f:
        return [json.loads(line) for line in f if line.endswith("\n")]


def main():
    with Lab("it7") as lab, tempfile.TemporaryDirectory() as d:
        pki = f"{lab.dir}/pki"
        make_certs(pki, d)
        good = (f"{pki}/mgmt.pem", f"{pki}/mgmt.key")
        r = probe(lab, "json", '{"v":1,"op":"health"}', *good)
        check(r.get("reply", {}).get("ok") is True and r.get("version") == "TLSv1.3",
              "a good client certificate gets an answer over TLS 1.3")
        cases = [
            ("no client certificate", None, None, "did not return a certificate"),
            ("another CA", f"{d}/wrongca.pem", f"{d}/wrongca.key", "certificate:"),
            ("expired", f"{d}/expired.pem", f"{d}/expired.key", "expired"),
            ("not for client authentication", f"{d}/server.pem", f"{d}/server.key", "purpose"),
            ("subject not allowed", f"{d}/intruder.pem", f"{d}/intruder.key", "not allowed"),
        ]
        for what, cert, key, reason in cases:
            n0 = len(audit(lab))
            r = probe(lab, "json", '{"v":1,"op":"health"}', cert, key)
            wait_for(lambda: any(reason in e.get("reason", "") for e in audit(lab)[n0:]  # noqa: B023
                                 if e["event"] == "auth_failure"), 10)
            new = [e for e in audit(lab)[n0:] if e["event"] == "auth_failure"]
            check("reply" not in r, f"{what}: no answer ({r.get('error') or 'closed'})")
            check(any(reason in e["reason"] for e in new),
                  f"{what}: audited as auth_failure ({[e['reason'] for e in new]})")
        n0 = len(audit(lab))
        r = probe(lab, "garbage")
        wait_for(lambda: any(e["event"] == "auth_failure" for e in audit(lab)[n0:]), 10)
        check(any(e["event"] == "auth_failure" for e in audit(lab)[n0:]),
              "not TLS at all: refused and audited")

        # Messages, with a good certificate.
        for what, mode, arg, code in [
            ("not JSON", "json", "{nope", "bad_message"),
            ("unknown field", "json", '{"v":1,"op":"health","x":1}', "unknown_field"),
            ("wrong version", "json", '{"v":9,"op":"health"}', "unsupported_version"),
            ("oversized", "raw-length", str(1 << 20), "bad_message"),
            ("empty", "raw-length", "0", "bad_message"),
        ]:
            r = probe(lab, mode, arg, *good)
            got = r.get("reply", {}).get("error", {}).get("code")
            check(got == code, f"{what}: refused as {code} ({got})")
        r = probe(lab, "raw-length", "100", *good)  # 6 of 100 bytes, then gone
        check("reply" not in r, "truncated: nothing applied, no answer")
        wait_for(lambda: sum(e["event"] == "request_rejected" for e in audit(lab)) >= 5, 10)
        rejected = [e for e in audit(lab) if e["event"] == "request_rejected"]
        check(len(rejected) >= 5, f"rejected requests are audited ({len(rejected)})")
        check(all("key" not in e and "nonce" not in e for e in audit(lab)),
              "no audit line carries a key or a nonce")
        # An idle connection is closed after mgmt.timeout_s.
        t0 = time.monotonic()
        r = probe(lab, "handshake", None, *good)
        waited = time.monotonic() - t0
        check(r.get("closed") and waited < 10, f"an idle connection is closed ({waited:.1f} s)")
        check(ctl(lab, "health", appliance("apA")).returncode == 0,
              "after all that, the appliance still answers")
        log(f"audit trail of apA: {len(audit(lab))} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
