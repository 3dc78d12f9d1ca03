"""Request-level security helpers that settings point to by name."""

from __future__ import annotations

import ipaddress

from auditlog.middleware import AuditlogMiddleware as BaseAuditlogMiddleware
from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address, trusting X-Forwarded-For only as deep as our proxies.

    Each of OUTREACH_PROXY_COUNT proxies appends the address it saw, so the
    client is that many entries from the right; anything further left was
    written by the client and could be forged to dodge the lockout.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.OUTREACH_PROXY_COUNT
    if not hops:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    candidate = forwarded[-hops] if len(forwarded) >= hops else remote
    return candidate if _is_ip(candidate) else remote


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class AuditlogMiddleware(BaseAuditlogMiddleware):
    """auditlog's middleware, but the address it records comes from client_ip.

    The original takes the left-most X-Forwarded-For entry, which the client
    writes: a forged address would land in the audit log, and a value that is
    not an address at all would make every audited save fail.
    """

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        return client_ip(request) or None
