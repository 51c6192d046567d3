"""AES-256-GCM in plain Python (FIPS 197, NIST SP 800-38D): an oracle that
shares no code with OpenSSL, which both the openssl crypto profile and
python3-cryptography use. Slow (a quarter of a millisecond a block): for a
few frames, not for whole captures. known_answers() checks it against McGrew and
Viega's test cases 13-16 (AES-256) each time a test relies on it.

    python3 aes_gcm.py   runs the known answers
"""
import sys


def _sbox():
    """The S-box from its definition: inverse in GF(2^8), then the affine map."""
    exp, log = [0] * 512, [0] * 256
    x = 1
    for i in range(255):
        exp[i], log[x] = x, i
        x ^= (x << 1) ^ (0x11B if x & 0x80 else 0)  # multiply by 3
        x &= 0xFF
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    box = []
    for a in range(256):
        b = 0 if a == 0 else exp[255 - log[a]]
        s = b
        for k in range(1, 5):
            s ^= ((b << k) | (b >> (8 - k))) & 0xFF
        box.append(s ^ 0x63)
    return box


SBOX = _sbox()


def _xtime(b):
    return ((b << 1) ^ (0x1B if b & 0x80 else 0)) & 0xFF


def _expand(key):
    """AES-256 key schedule: 15 round keys of 16 bytes."""
    if len(key) != 32:
        raise ValueError("AES-256 wants a 32-byte key")
    w = [list(key[i:i + 4]) for i in range(0, 32, 4)]
    rcon = 1
    for i in range(8, 60):
        t = list(w[i - 1])
        if i % 8 == 0:
            t = [SBOX[b] for b in t[1:] + t[:1]]
            t[0] ^= rcon
            rcon = _xtime(rcon)
        elif i % 8 == 4:
            t = [SBOX[b] for b in t]
        w.append([a ^ b for a, b in zip(w[i - 8], t)])
    return [sum(w[r * 4:r * 4 + 4], []) for r in range(15)]


def _mix(s):
    out = []
    for c in range(4):
        a = s[4 * c:4 * c + 4]
        t = a[0] ^ a[1] ^ a[2] ^ a[3]
        out += [a[i] ^ t ^ _xtime(a[i] ^ a[(i + 1) % 4]) for i in range(4)]
    return out


def _encrypt_block(rk, block):
    s = [a ^ b for a, b in zip(block, rk[0])]
    for r in range(1, 15):
        s = [SBOX[b] for b in s]
        s = [s[(i + 4 * (i % 4)) % 16] for i in range(16)]  # ShiftRows (column-major)
        if r != 14:
            s = _mix(s)
        s = [a ^ b for a, b in zip(s, rk[r])]
    return bytes(s)


def _gmul(x, y):
    """Multiplication in GF(2^128) with GCM's bit order (SP 800-38D 6.3)."""
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ (0xE1 << 120) if v & 1 else v >> 1
    return z


def _ghash(h, data):
    y = 0
    for i in range(0, len(data), 16):
        y = _gmul(y ^ int.from_bytes(data[i:i + 16].ljust(16, b"\0"), "big"), h)
    return y


def _ctr(rk, j0, data):
    out = bytearray()
    ctr = int.from_bytes(j0[12:], "big")
    for i in range(0, len(data), 16):
        ctr = (ctr + 1) & 0xFFFFFFFF
        ks = _encrypt_block(rk, j0[:12] + ctr.to_bytes(4, "big"))
        out += bytes(a ^ b for a, b in zip(data[i:i + 16], ks))
    return bytes(out)


def _tag(rk, h, j0, aad, ct):
    def pad(b):
        return b + b"\0" * (-len(b) % 16)
    lens = (8 * len(aad)).to_bytes(8, "big") + (8 * len(ct)).to_bytes(8, "big")
    s = _ghash(h, pad(aad) + pad(ct) + lens)
    return (s ^ int.from_bytes(_encrypt_block(rk, j0), "big")).to_bytes(16, "big")


def seal(key, nonce, pt, aad=b""):
    """ciphertext || 16-byte tag, for a 12-byte nonce."""
    rk = _expand(key)
    h = int.from_bytes(_encrypt_block(rk, bytes(16)), "big")
    j0 = bytes(nonce) + b"\0\0\0\1"
    ct = _ctr(rk, j0, pt)
    return ct + _tag(rk, h, j0, aad, ct)


def open_(key, nonce, ct_tag, aad=b""):
    """The plaintext, or None if the tag does not verify."""
    if len(nonce) != 12 or len(ct_tag) < 16:
        return None
    rk = _expand(key)
    h = int.from_bytes(_encrypt_block(rk, bytes(16)), "big")
    j0 = bytes(nonce) + b"\0\0\0\1"
    ct, tag = ct_tag[:-16], ct_tag[-16:]
    if _tag(rk, h, j0, aad, ct) != tag:
        return None
    return _ctr(rk, j0, ct)


# McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 13-16.
_K = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
_P = ("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
VECTORS = [
    ("00" * 32, "00" * 12, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"),
    ("00" * 32, "00" * 12, "00" * 16, "", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"),
    (_K, "cafebabefacedbaddecaf888", _P, "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"),
    (_K, "cafebabefacedbaddecaf888", _P[:120], "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"),
]


def known_answers():
    """Raises unless every vector seals to its ciphertext and tag and opens
    back, and a flipped tag bit is refused."""
    for i, (k, n, p, a, c, t) in enumerate(VECTORS):
        k, n, p, a, c, t = (bytes.fromhex(x) for x in (k, n, p, a, c, t))
        if seal(k, n, p, a) != c + t or open_(k, n, c + t, a) != p:
            raise AssertionError(f"aes_gcm: McGrew-Viega test case {13 + i} fails")
        if open_(k, n, c + t[:-1] + bytes([t[-1] ^ 1]), a) is not None:
            raise AssertionError(f"aes_gcm: test case {13 + i} with a bad tag was accepted")


if __name__ == "__main__":
    known_answers()
    print("aes_gcm: McGrew-Viega test cases 13-16 pass")
    sys.exit(0)
