#!/usr/bin/python3
"""Integration: authorization on the management port, over real TLS.

The lab's appliances know four client identities (tests/lab.sh):
CN=migsecctl and CN=operator2 (operators), CN=observer, CN=admin. Refused
and audited: a configuration without mgmt.clients (at start-up, with its
file and line), a client certificate without extended key usage and one
whose CN hides a NUL byte; an observer's start (its status is answered);
another operator's end and rekey of a running migration, and its start
over the same selectors with policy disabled; a peer outside mgmt.peers; a
revoked certificate once the new CRL is read on SIGHUP. An admin may end
the migration.
"""
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from migsec_lab import (HOST, MGMT, MIGSECCTL, OUTER, PY, TLSPROBE, BUILD, Lab,  # noqa: E402
                        appliance, check, log, start_migration)

SEL = f"src={HOST['A'][4]}/32,dst={HOST['B'][4]}/32"


def audit(lab, app="apA"):
    with open(f"{lab.dir}/{app}-audit.jsonl") as f:
        return [json.loads(line) for line in f]


def as_client(lab, who, *args):
    """migsecctl with the lab's certificate of who (mgmt = CN=migsecctl)."""
    pki = f"{lab.dir}/pki"
    return subprocess.run(["ip", "netns", "exec", f"{lab.name}-mg", MIGSECCTL, "--ca",
                           f"{pki}/ca.pem", "--cert", f"{pki}/{who}.pem", "--key",
                           f"{pki}/{who}.key", *args], capture_output=True, text=True, timeout=60)


def probe(lab, request, cert, key):
    cmd = [PY, TLSPROBE, "--ca", f"{lab.dir}/pki/ca.pem", "--cert", cert, "--key", key,
           MGMT["apA"], "7443", "json", json.dumps(request)]
    out = subprocess.run(["ip", "netns", "exec", f"{lab.name}-mg", *cmd], capture_output=True,
                         text=True, timeout=60)
    return json.loads(out.stdout) if out.stdout.strip() else {"error": out.stderr}


def code(r):
    return r.get("reply", {}).get("error", {}).get("code") or ("ok" if r.get("reply") else None)


def bad_certs(pki):
    """Client certificates from the lab's CA that must not get in: CN=migsecctl without
    extended key usage (an appliance's own would look so), and CN "migsecctl\\0evil"."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = x509.load_pem_x509_certificate(open(f"{pki}/ca.pem", "rb").read())
    cakey = serialization.load_pem_private_key(open(f"{pki}/ca.key", "rb").read(), None)
    now = datetime.datetime.now(datetime.timezone.utc)
    out = {}
    for name, cn, eku in (("noeku", "migsecctl", False), ("nul", "migsecctl\x00evil", True)):
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)]))
             .issuer_name(ca.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1)))
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        with open(f"{pki}/{name}.pem", "wb") as f:
            f.write(b.sign(cakey, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
        with open(f"{pki}/{name}.key", "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(f"{pki}/{name}.key", 0o600)
        out[name] = (f"{pki}/{name}.pem", f"{pki}/{name}.key")
    return out


def start_req(mid, peer=OUTER["B"][4], policy="disabled"):
    return {"v": 1, "op": "start", "id": mid, "vm": "vm-" + mid, "policy": policy,
            "role": "source", "peer": peer, "selectors": [SEL], "lifetime_s": 60}


def start_up_refused(lab):
    """A configuration without mgmt.clients: migsec-control refuses it, naming file and line."""
    with open(f"{lab.dir}/apA.conf") as f:
        text = f.read()
    bad = re.sub(r"  clients = \(.*?\n  \);\n", "", text, flags=re.S)
    path = f"{lab.dir}/noclients.conf"
    with open(path, "w") as f:
        f.write(bad)
    r = subprocess.run([os.path.join(BUILD, "control", "migsec-control"), "-c", path, "--check"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and re.search(re.escape(path) + r":\d+: setting 'mgmt.clients': "
                                          r"required", r.stderr),
          f"no mgmt.clients: start-up refused with file:line ({r.stderr.strip()[:90]})")


def tls_refusals(lab, certs):
    for what, cert, reason in (("no extended key usage", certs["noeku"], "purpose"),
                               ("CN with an embedded NUL", certs["nul"], "not allowed")):
        n0 = len(audit(lab))
        r = probe(lab, {"v": 1, "op": "health"}, *cert)
        time.sleep(0.3)
        new = [e["reason"] for e in audit(lab)[n0:] if e["event"] == "auth_failure"]
        check("reply" not in r and any(reason in x for x in new),
              f"{what}: refused at the handshake, audited ({new})")


def roles_and_owners(lab):
    pki = f"{lab.dir}/pki"
    obs, op2 = (f"{pki}/observer.pem", f"{pki}/observer.key"), (f"{pki}/operator2.pem",
                                                               f"{pki}/operator2.key")
    r = probe(lab, start_req("w1"), *obs)
    check(code(r) == "forbidden", f"observer: start refused ({code(r)})")
    r = probe(lab, {"v": 1, "op": "status"}, *obs)
    check(code(r) == "ok", "observer: status answered")
    r = start_migration(lab, "victim", [SEL])
    check(r.returncode == 0, "CN=migsecctl starts a sealed migration on both appliances")
    n0 = len(audit(lab))
    for op in ("end", "rekey"):
        r = as_client(lab, "operator2", op, "--id", "victim", appliance("apA"))
        check(r.returncode != 0 and "forbidden" in r.stderr + r.stdout,
              f"another operator's {op} of it: refused ({(r.stderr or r.stdout).strip()[:80]})")
    r = probe(lab, start_req("evil1"), *op2)
    check(code(r) == "overlap", f"its selectors again, policy disabled: refused ({code(r)})")
    r = probe(lab, start_req("evil2", peer="203.0.113.77", policy="disabled"), *op2)
    check(code(r) == "forbidden", f"a peer outside mgmt.peers: refused ({code(r)})")
    denied = [e for e in audit(lab)[n0:] if e["event"] == "request_denied"]
    check(len(denied) == 4 and all(e["client"] == "CN=operator2" for e in denied),
          f"each refusal audited as request_denied ({[e['code'] for e in denied]})")
    st = json.loads(as_client(lab, "observer", "--json", "status", appliance("apA")).stdout)
    mig = st["apA"]["migrations"]
    check(len(mig) == 1 and mig[0]["migration"] == "victim" and mig[0]["sealed"] and
          mig[0]["owner"] == "CN=migsecctl", "the migration runs on, sealed, owned by CN=migsecctl")
    r = as_client(lab, "admin", "end", "--id", "victim", appliance("apA"), appliance("apB"))
    check(r.returncode == 0, "an admin may end it")


def revocation(lab):
    pki = f"{lab.dir}/pki"
    op2 = (f"{pki}/operator2.pem", f"{pki}/operator2.key")
    ca = ["openssl", "ca", "-config", f"{pki}/ca.cnf", "-cert", f"{pki}/ca.pem", "-keyfile",
          f"{pki}/ca.key"]
    subprocess.run(ca + ["-revoke", op2[0]], check=True, capture_output=True, timeout=30)
    subprocess.run(ca + ["-gencrl", "-out", f"{pki}/ca.crl"], check=True, capture_output=True,
                   timeout=30)
    check(code(probe(lab, {"v": 1, "op": "health"}, *op2)) == "ok",
          "revoked, before SIGHUP: the CRL in force still lets it in")
    with open(f"{lab.dir}/apA-control.pid") as f:
        os.kill(int(f.read()), signal.SIGHUP)
    time.sleep(0.5)
    n0 = len(audit(lab))
    r = probe(lab, {"v": 1, "op": "health"}, *op2)
    time.sleep(0.3)
    new = [e for e in audit(lab)[n0:] if e["event"] == "auth_failure"]
    check("reply" not in r and any("revoked" in e["reason"] for e in new),
          f"after SIGHUP: refused as revoked ({[e['reason'] for e in new]})")
    check(any(e["event"] == "trust_reloaded" for e in audit(lab)), "the reload is audited")
    check(code(probe(lab, {"v": 1, "op": "health"}, f"{pki}/mgmt.pem", f"{pki}/mgmt.key")) == "ok",
          "CN=migsecctl still gets in")


def main():
    t0 = time.monotonic()
    with Lab("itz") as lab:
        start_up_refused(lab)
        tls_refusals(lab, bad_certs(f"{lab.dir}/pki"))
        roles_and_owners(lab)
        revocation(lab)
    log(f"it_authz: {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
