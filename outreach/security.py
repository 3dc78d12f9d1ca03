"""Request-level security helpers that settings point to by name."""

from __future__ import annotations

import ipaddress

from auditlog.middleware import AuditlogMiddleware as _AuditlogMiddleware
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
    return forwarded[-hops] if len(forwarded) >= hops else remote


class AuditlogMiddleware(_AuditlogMiddleware):
    """django-auditlog's middleware, reading the client address as we do.

    Upstream trusts the leftmost X-Forwarded-For entry, which the client
    writes: the audit would record a forged address, and on PostgreSQL a
    value that is no address at all makes every audited write fail.
    """

    @staticmethod
    def _get_remote_addr(request: HttpRequest) -> str | None:
        try:
            return str(ipaddress.ip_address(client_ip(request)))
        except ValueError:
            return None
