"""What people type into the host and letter search boxes.

- an address (``198.51.100.7``): one indexed equality;
- a prefix (``198.51.100.``) or a CIDR (``198.51.100.0/24``): one range query
  on the address (PostgreSQL's ``inet`` B-tree orders addresses);
- an ASN (``AS64500``): the hosts of that AS;
- an email address: the contact's, normalised, one indexed equality;
- anything else: the admin's ordinary text search (PTR, organisation).
"""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from outreach.admin_base import ScopedSimpleListFilter
from outreach.lib.iputil import IPNetwork
from outreach.models import Campaign, Host
from outreach.validators import normalise_email

ASN = re.compile(r"^AS(\d{1,10})$", re.IGNORECASE)
# 1 to 3 dotted octets and a trailing dot: an IPv4 prefix typed by hand.
PREFIX = re.compile(r"^(\d{1,3}\.){1,3}$")


def parse_network(term: str) -> IPNetwork | None:
    """A CIDR or a dotted IPv4 prefix as a network; None for anything else."""
    if PREFIX.match(term):
        octets = term.rstrip(".").split(".")
        if any(int(o) > 255 for o in octets):
            return None
        padded = octets + ["0"] * (4 - len(octets))
        return ipaddress.ip_network(f"{'.'.join(padded)}/{8 * len(octets)}")
    if "/" in term:
        try:
            return ipaddress.ip_network(term, strict=False)
        except ValueError:
            return None
    return None


def in_network(queryset: QuerySet, field: str, network: IPNetwork) -> QuerySet:
    """Rows whose address ``field`` lies in ``network``."""
    first, last = str(network.network_address), str(network.broadcast_address)
    if connection.vendor == "postgresql":
        # inet compares by family, then address: a B-tree range scan.
        return queryset.filter(**{f"{field}__gte": first, f"{field}__lte": last})
    # Elsewhere the address is text, which does not sort numerically: narrow
    # by the text the network's addresses share, then test each one (the
    # embedded default holds demo-sized tables).
    shared = _common_prefix(first, last)
    candidates = queryset.filter(**{f"{field}__startswith": shared}).values_list("pk", field)
    ids = [pk for pk, ip in candidates.iterator() if ipaddress.ip_address(ip) in network]
    return queryset.filter(pk__in=ids)


def _common_prefix(a: str, b: str) -> str:
    size = 0
    while size < min(len(a), len(b)) and a[size] == b[size]:
        size += 1
    return a[:size]


class HostSearchMixin:
    """For admins of a model with an IP field; ``ip_search_field`` names it."""

    ip_search_field = "ip"
    asn_search_fields: tuple[str, ...] = ("asn", "network__asn")
    email_search_field = "contact__email"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        field = self.ip_search_field
        try:
            ip = ipaddress.ip_address(term)
        except ValueError:
            ip = None
        if ip is not None:
            return queryset.filter(**{field: str(ip)}), False
        network = parse_network(term)
        if network is not None:
            return in_network(queryset, field, network), False
        asn = ASN.match(term)
        if asn and self.asn_search_fields:
            number = int(asn.group(1))
            condition = Q()
            for path in self.asn_search_fields:
                condition |= Q(**{path: number})
            return queryset.filter(condition), False
        if "@" in term and " " not in term and self.email_search_field:
            try:
                email = normalise_email(term)
            except ValidationError:
                email = None
            if email:
                return queryset.filter(**{self.email_search_field: email}), False
        return super().get_search_results(request, queryset, search_term)


class LetterSearchMixin(HostSearchMixin):
    """Letters by a host's address, prefix or CIDR, or their contact."""

    ip_search_field = "hosts__ip"
    asn_search_fields = ("hosts__asn",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, duplicates = super().get_search_results(request, queryset, search_term)
        # A letter lists many hosts: a range or an AS can match it several times.
        return found, duplicates or bool(search_term.strip())


class DisputeCampaignFilter(ScopedSimpleListFilter):
    """Contact disputes by campaign: they name an address, not a host row."""

    title = _("campaign")
    parameter_name = "campaign"

    def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
        choices = [(str(c.pk), c.name) for c in Campaign.objects.for_user(request.user)[:100]]
        value = self.value()
        # Django applies a filter only when it offers the asked-for value.
        if value and value not in {pk for pk, _name in choices}:
            choices.append((value, value))
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if not value or not str(value).isdigit():
            return None
        ips = Host.objects.filter(campaigns__id=int(value)).values("ip")
        return queryset.filter(ip__in=ips)
