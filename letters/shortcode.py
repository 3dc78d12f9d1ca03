"""A short code a person can type from a paper letter. Pure: no database.

The 32-character link token is case-sensitive and hard to copy by hand. The
letter also prints a code of 16 characters in four groups, from Crockford's
base 32 (no I, L, O or U, so nothing reads as something else), plus two
check characters: ``K7QF-3MZT-9XHB-WC2P-R4``. That is 80 bits, far beyond
guessing behind the page's brake on wrong links. Typing is forgiving: case,
spaces and dashes don't matter, and O, I and L are read as 0, 1 and 1. The
check is the code's value modulo the prime 1021: since 1021 divides neither
a power of 32 nor any difference of two characters, it catches any one
mistyped character and any two swapped neighbours before a lookup is made.
"""

from __future__ import annotations

import hashlib
import hmac

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_LENGTH = 16
CHECK_LENGTH = 2
CHECK_MODULUS = 1021  # prime, and below 32 ** CHECK_LENGTH
GROUP = 4
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_SALT = "outreach.letters.recipient.code"


def code_derive(secret: str, key: str) -> str:
    """The printed code for a token's stored secret, grouped, with its check character."""
    salted = hashlib.sha256(f"{CODE_SALT}:{key}".encode()).digest()
    mac = int.from_bytes(hmac.new(salted, secret.encode(), hashlib.sha256).digest()[:10], "big")
    data = "".join(ALPHABET[(mac >> (5 * i)) & 31] for i in range(DATA_LENGTH))
    return code_format(data + check_characters(data))


def check_characters(data: str) -> str:
    """The data's value, as a base-32 number, modulo 1021, in two characters."""
    value = 0
    for char in data:
        value = value * 32 + _VALUE[char]
    check = value % CHECK_MODULUS
    return ALPHABET[check // 32] + ALPHABET[check % 32]


def code_format(compact: str) -> str:
    groups = [compact[i : i + GROUP] for i in range(0, DATA_LENGTH, GROUP)]
    return "-".join([*groups, compact[DATA_LENGTH:]])


def code_normalise(typed: str) -> str | None:
    """The compact code a person meant, or None when it cannot be one (a typo)."""
    compact = "".join(typed.split()).replace("-", "").upper().translate(_READ_AS)
    if len(compact) != DATA_LENGTH + CHECK_LENGTH or any(c not in _VALUE for c in compact):
        return None
    data, check = compact[:DATA_LENGTH], compact[DATA_LENGTH:]
    return compact if check_characters(data) == check else None


def code_hash(compact: str) -> str:
    return hashlib.sha256(compact.encode()).hexdigest()
