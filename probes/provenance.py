"""Provenance of contact candidates: which sources name whom, and do they agree.

Pure. Every candidate carries its ``source`` ("dump:ripe", "rdap:arin",
"dns:abusix"), ``data_date`` and ``rule``; ``agrees`` lists the other
sources that name the same address. Agreement raises the confidence; a
second source naming someone else than the best candidate is a dispute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

RULE_DNS = "dns_abusix"
SOURCE_DNS = "dns:abusix"
CONFIDENCE_DNS = 0.85
AGREEMENT_BONUS = 0.04


def chain_merge(
    chain: list[dict], *, dns_emails: Iterable[str], today: dt.date
) -> tuple[list[dict], bool]:
    """The chain with the DNS source's addresses merged in, and whether they dispute it.

    DNS addresses already in the chain mark those candidates as agreed
    (``agrees`` and a higher confidence); new ones are appended after the
    registry's candidates. It is a dispute when DNS names addresses and
    none of them is the best candidate.
    """
    dns = list(dict.fromkeys(dns_emails))
    if not dns:
        return chain, False
    merged = [dict(item) for item in chain]
    known = {item["email"] for item in merged}
    for item in merged:
        if item["email"] in dns:
            item["agrees"] = sorted({*item.get("agrees", []), SOURCE_DNS})
            item["confidence"] = round(min(0.99, item["confidence"] + AGREEMENT_BONUS), 2)
    merged += [
        {
            "email": email,
            "rule": RULE_DNS,
            "confidence": CONFIDENCE_DNS,
            "source": SOURCE_DNS,
            "data_date": today.isoformat(),
        }
        for email in dns
        if email not in known
    ]
    disputed = bool(chain) and chain[0]["email"] not in dns
    return merged, disputed
