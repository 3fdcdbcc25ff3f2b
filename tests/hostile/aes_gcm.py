"""AES-GCM in pure Python, for the attacker only: the venv has no
`cryptography` package and the suite installs nothing. It seals the few
packets the encryption tests forge (a forged `dead` under the cluster's
key, under another key, under another label); a flood reuses them. Slow
(about a millisecond a block) and not constant-time: never use it for
anything but tests. Checked against Go memberlist's captured packets in
test_attacker_codec.py."""

from __future__ import annotations

from functools import lru_cache


def _xtime(b: int) -> int:
    b <<= 1
    return (b ^ 0x11B) if b & 0x100 else b


def _gf256_mul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        a = _xtime(a)
        b >>= 1
    return out


def _make_sbox() -> list[int]:
    # The S-box from its definition (multiplicative inverse, then the affine
    # map) rather than a 256-entry table nobody can check by eye.
    inverse = [0] * 256
    for a in range(1, 256):
        for b in range(1, 256):
            if _gf256_mul(a, b) == 1:
                inverse[a] = b
                break
    sbox = []
    for a in range(256):
        x = inverse[a]
        y = x
        for shift in range(1, 5):
            y ^= ((x << shift) | (x >> (8 - shift))) & 0xFF
        sbox.append(y ^ 0x63)
    return sbox


SBOX = _make_sbox()
ROUNDS = {16: 10, 24: 12, 32: 14}


@lru_cache(maxsize=16)
def _round_keys(key: bytes) -> tuple[tuple[int, ...], ...]:
    """The expanded key as one 16-byte tuple per round."""
    nk = len(key) // 4
    words = [list(key[4 * i : 4 * i + 4]) for i in range(nk)]
    rcon = 1
    total = 4 * (ROUNDS[len(key)] + 1)
    for i in range(nk, total):
        w = list(words[i - 1])
        if i % nk == 0:
            w = [SBOX[b] for b in w[1:] + w[:1]]
            w[0] ^= rcon
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            w = [SBOX[b] for b in w]
        words.append([a ^ b for a, b in zip(words[i - nk], w, strict=True)])
    return tuple(tuple(b for word in words[4 * r : 4 * r + 4] for b in word) for r in range(total // 4))


def _mix_column(c: list[int]) -> list[int]:
    a0, a1, a2, a3 = c
    return [
        _xtime(a0) ^ _xtime(a1) ^ a1 ^ a2 ^ a3,
        a0 ^ _xtime(a1) ^ _xtime(a2) ^ a2 ^ a3,
        a0 ^ a1 ^ _xtime(a2) ^ _xtime(a3) ^ a3,
        _xtime(a0) ^ a0 ^ a1 ^ a2 ^ _xtime(a3),
    ]


def encrypt_block(key: bytes, block: bytes) -> bytes:
    keys = _round_keys(key)
    s = [b ^ k for b, k in zip(block, keys[0], strict=True)]
    for r in range(1, len(keys)):
        s = [SBOX[b] for b in s]
        # ShiftRows on the column-major state: byte (row i, column c) comes
        # from column c + i.
        s = [s[(i + 4 * ((c + i) % 4)) % 16] for c in range(4) for i in range(4)]
        if r != len(keys) - 1:
            s = [b for c in range(4) for b in _mix_column(s[4 * c : 4 * c + 4])]
        s = [b ^ k for b, k in zip(s, keys[r], strict=True)]
    return bytes(s)


def _gf128_mul(x: int, y: int) -> int:
    """Multiplication in GCM's field, bits in GCM's (reflected) order."""
    r = 0xE1 << 120
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ r if v & 1 else v >> 1
    return z


def _ghash(h: int, aad: bytes, ciphertext: bytes) -> int:
    def blocks(data: bytes):
        for i in range(0, len(data), 16):
            yield data[i : i + 16].ljust(16, b"\0")

    x = 0
    for block in [*blocks(aad), *blocks(ciphertext)]:
        x = _gf128_mul(x ^ int.from_bytes(block, "big"), h)
    lengths = (8 * len(aad)).to_bytes(8, "big") + (8 * len(ciphertext)).to_bytes(8, "big")
    return _gf128_mul(x ^ int.from_bytes(lengths, "big"), h)


def seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Ciphertext followed by the 16-byte tag (what Go's `gcm.Seal` appends)."""
    assert len(nonce) == 12, "memberlist uses 96-bit nonces"
    h = int.from_bytes(encrypt_block(key, b"\0" * 16), "big")
    counter0 = nonce + b"\0\0\0\1"
    out = bytearray()
    for i in range(0, len(plaintext), 16):
        counter = nonce + (2 + i // 16).to_bytes(4, "big")
        stream = encrypt_block(key, counter)
        # The last block may be short: only its bytes of the key stream are used.
        out += bytes(
            p ^ k for p, k in zip(plaintext[i : i + 16], stream[: len(plaintext[i : i + 16])], strict=True)
        )
    tag = _ghash(h, aad, bytes(out)) ^ int.from_bytes(encrypt_block(key, counter0), "big")
    return bytes(out) + tag.to_bytes(16, "big")
