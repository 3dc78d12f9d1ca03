"""Whom to write to: networks cached from RDAP, contacts and agency routing.

The path of one host: its address falls in a cached, fresh Network (no
query), or one RDAP request caches the network for every later address in it.
The network's candidate contacts, then abuse@ its PTR domain, then the
national contact, form the host's chain; the first contactable one is the
host's contact. Contact and host then go to the agency whose jurisdiction
covers the network's country, or to the campaign's lead agency.
"""

from __future__ import annotations

import bisect
import datetime as dt
import ipaddress
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from outreach.lib.bucket import bucket_take
from outreach.lib.iputil import ip_key
from outreach.models import Agency, Campaign, Contact, Host, Network
from probes import provenance, rdap, registry_dump
from probes.abusix import AbusixSource
from probes.flight import FlightBusy, single_flight
from probes.models import ContactDispute
from probes.pacing import Pacer

log = logging.getLogger(__name__)


# --- Networks: the cache -----------------------------------------------------


def network_cached(*, ip: str) -> Network | None:
    """The most specific fresh network holding ``ip``, without any query out."""
    fresh_since = timezone.now() - dt.timedelta(days=settings.RDAP_CACHE_DAYS)
    networks = Network.objects.containing(ip).filter(fetched_at__gte=fresh_since)
    # The raw answer can weigh megabytes and is only kept for the record.
    return networks.defer("raw_rdap").first()


def network_resolve_paced(
    *, ip: str, wait: bool, pacer: Pacer | None, confirm: bool = False
) -> Network:
    """``network_resolve``, sleeping through rate limits when a pacer is given."""
    remote_waits = 0
    while True:
        try:
            return network_resolve(ip=ip, wait=wait, pacer=pacer, confirm=confirm)
        except rdap.RdapRateLimited as exc:
            if pacer is None or not pacer.wait_for(exc, remote_waits=remote_waits):
                raise
            remote_waits += not exc.local


def network_resolve(
    *, ip: str, wait: bool = True, pacer: Pacer | None = None, confirm: bool = False
) -> Network:
    """The network holding ``ip``: from the cache, or one RDAP lookup.

    Misses are single-flight per block (``RDAP_LOCK_PREFIX_V4/V6``): a
    second worker waits for the first, then finds the network cached; with
    ``wait=False`` it raises ``FlightBusy`` instead. Raises ``rdap.RdapError``
    (``retry`` tells whether to try again later). ``confirm`` asks RDAP
    whatever the cache and the bulk data say (to settle a disagreement).
    """
    cached = None if confirm else network_cached(ip=ip) or network_from_dump(ip=ip)
    if cached is not None:
        return cached
    with single_flight(_block(ip), timeout=settings.RDAP_TIMEOUT * 3 + 5, wait=wait):
        cached = None if confirm else network_cached(ip=ip)
        if cached is not None:
            return cached
        raw = rdap.rdap_fetch(
            ip,
            base_url=settings.RDAP_BASE_URL,
            timeout=settings.RDAP_TIMEOUT,
            max_bytes=settings.RDAP_MAX_BYTES,
            allowed=settings.RDAP_ALLOWED_NETWORKS,
            before_send=registry_token_take if pacer is None else pacer_counted(pacer),
        )
        asn, as_name = _asn_of(ip)
        return network_record(ip=ip, raw=raw, asn=asn, as_name=as_name)


def _asn_of(ip: str) -> tuple[int | None, str]:
    if not settings.RDAP_ASN_DNS:
        return None, ""
    return rdap.asn_lookup(
        ip,
        nameserver=settings.RDAP_ASN_DNS,
        timeout=settings.RDAP_TIMEOUT,
        allowed=settings.RDAP_ALLOWED_NETWORKS,
    )


def network_from_dump(*, ip: str) -> Network | None:
    """The network as the registry's imported bulk data describes it, or None.

    Only an answer that names a contact is taken: without one, RDAP is asked
    (the dump may lack what the live registry has, as LACNIC's does).
    """
    answer = registry_dump.registry_contact(ip=ip)
    if answer is None or not answer.email:
        return None
    candidate = {
        "email": answer.email,
        "rule": rdap.RULE_DUMP,
        "confidence": rdap.CONFIDENCE[rdap.RULE_DUMP],
        "source": f"dump:{answer.registry}",
        "data_date": answer.serial,
        "detail": f"{answer.rule} of {answer.answered_by}"[:200],
    }
    cidr = registry_dump.block_without_inner(ip=ip, cidr=answer.cidr)
    # Dumps name no origin AS: Team Cymru's DNS does, when configured.
    asn, as_name = _asn_of(ip)
    network, _created = Network.objects.update_or_create(
        cidr=cidr,
        defaults={
            **({"asn": asn, "as_name": as_name} if asn is not None else {}),
            "registry": answer.registry,
            "handle": answer.handle,
            "name": answer.netname,
            "country": answer.country,
            "abuse_emails": [answer.email],
            "contact_candidates": [candidate],
            "raw_rdap": None,
            "fetched_at": timezone.now(),
        },
    )
    return network


def registry_token_take(registry: str) -> None:
    """Take a token from the registry's shared bucket, or refuse the request."""
    capacity, per_second = settings.RDAP_RATE_LIMITS.get(registry, (5.0, 5.0))
    wait = bucket_take(registry, capacity=capacity, per_second=per_second)
    if wait > 0:
        raise rdap.RdapRateLimited(
            f"local limit for {registry} reached", wait=wait, registry=registry, local=True
        )


def pacer_counted(pacer: Pacer) -> Callable[[str], None]:
    """The token hook, counting each granted request on the pacer."""

    def take(registry: str) -> None:
        registry_token_take(registry)
        pacer.sent_one(registry)

    return take


def placeholder_domains() -> tuple[str, ...]:
    return (*rdap.PLACEHOLDER_DOMAINS, *settings.RDAP_PLACEHOLDER_DOMAINS)


@transaction.atomic
def network_record(*, ip: str, raw: dict, asn: int | None = None, as_name: str = "") -> Network:
    """Store (or refresh) the network an RDAP answer describes.

    ``asn`` and ``as_name`` come from the ASN lookup; the answer's own
    origin AS (ARIN) wins when it names one.
    """
    info = rdap.network_extract(raw, ip=ip, placeholder_domains=placeholder_domains())
    today = timezone.now().date().isoformat()
    info.asn, info.as_name = info.asn or asn, info.as_name or as_name
    for email, reason in info.rejected:
        log.info("RDAP %s: refused contact %r: %s", info.cidr, email, reason)
    fields = {
        "registry": info.registry,
        "handle": info.handle,
        "name": info.name,
        "country": info.country,
        "postal_address": info.postal_address,
        "abuse_emails": info.abuse_emails,
        "contact_candidates": [
            c.as_dict() | {"source": f"rdap:{info.registry or 'unknown'}", "data_date": today}
            for c in info.candidates
        ],
        "raw_rdap": raw,
        "fetched_at": timezone.now(),
    }
    if info.asn is not None:
        fields["asn"] = info.asn
    if info.as_name:
        fields["as_name"] = info.as_name
    # update_or_create survives another worker creating the same CIDR at
    # once (a network larger than one single-flight block).
    network, _created = Network.objects.update_or_create(cidr=info.cidr, defaults=fields)
    return network


# --- Agencies --------------------------------------------------------------


@dataclass
class Router:
    """Decides the agency for a country within one campaign (or all agencies).

    One lookup call shares one Router, which also keeps what the call has
    read already: the do-not-contact addresses and the contacts by email.
    """

    agencies: list[Agency]
    lead: Agency | None
    blocked: set[str] | None = None
    contacts: dict[str, Contact] = field(default_factory=dict)

    @classmethod
    def for_campaign(cls, campaign: Campaign | None) -> Router:
        if campaign is None:
            return cls(list(Agency.objects.filter(is_active=True)), None)
        return cls(list(campaign.agencies().filter(is_active=True)), campaign.lead_agency)

    def prefetch(self, emails: set[str]) -> None:
        """Read the known contacts among ``emails`` (and who is blocked) at once."""
        known = list(Contact.objects.filter(email__in=list(emails)).select_related("agency"))
        self.blocked = {c.email for c in known if c.do_not_contact}
        self.contacts.update({c.email: c for c in known})

    def agency_for(self, country: str) -> Agency | None:
        return self.covering(country) or self.lead

    def covering(self, country: str) -> Agency | None:
        """The agency whose jurisdiction (or a routing override) names ``country``."""
        if not country:
            return None
        code = settings.RDAP_AGENCY_ROUTES.get(country.upper())
        for agency in self.agencies:
            if code and agency.code == code:
                return agency
        for agency in self.agencies:
            if country.upper() in [c.upper() for c in agency.jurisdiction or []]:
                return agency
        return None


def campaign_for_hosts(host_ids: list[int]) -> Campaign | None:
    """The most recent active campaign holding these hosts (the routing context)."""
    campaigns = Campaign.objects.filter(status=Campaign.Status.ACTIVE).order_by("-created_at")
    return campaigns.filter(hosts__id__in=host_ids[:1000]).first() or campaigns.first()


# --- Contacts: the chain ---------------------------------------------------


def host_chain(*, host: Host, network: Network | None) -> list[dict]:
    """Every candidate for a host, best first: RDAP rules, then PTR, then national.

    Empty for an address in ``NEVER_CONTACT_NETWORKS``: its owner asked us
    never to write, whoever the registry names.
    """
    if _never_contact(host.ip):
        return []
    chain = list(network.contact_candidates) if network is not None else []
    country = (network.country if network is not None else "") or host.country
    extras = [
        (rdap.ptr_abuse_address(host.ptr), rdap.RULE_PTR),
        (
            settings.RDAP_NATIONAL_CONTACTS.get(country.upper(), "") if country else "",
            rdap.RULE_NATIONAL,
        ),
    ]
    seen = {item["email"] for item in chain}
    for raw, rule in extras:
        # The network's candidates were checked when stored; these are not.
        email = _email_or_none(raw)
        if email and email not in seen:
            chain.append({"email": email, "rule": rule, "confidence": rdap.CONFIDENCE[rule]})
            seen.add(email)
    return chain


def _never_contact(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return any(
        address in ipaddress.ip_network(net, strict=False)
        for net in settings.NEVER_CONTACT_NETWORKS
    )


def _email_or_none(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return rdap.email_check(raw, placeholder_domains=())
    except ValueError:
        return None


def chain_pick(
    chain: list[dict], *, after: str | None = None, blocked: set[str] | None = None
) -> dict | None:
    """The first contactable candidate (after ``after``, when given).

    ``blocked`` is the do-not-contact addresses among the chain, when the
    caller already read them for several chains at once.
    """
    if after is not None:
        emails = [item["email"] for item in chain]
        chain = chain[emails.index(after) + 1 :] if after in emails else []
    if blocked is None:
        blocked = emails_blocked([item["email"] for item in chain])
    return next((item for item in chain if item["email"] not in blocked), None)


def emails_blocked(emails: Iterable[str]) -> set[str]:
    """The addresses among ``emails`` whose owners asked not to be contacted."""
    return set(
        Contact.objects.filter(email__in=list(emails), do_not_contact=True).values_list(
            "email", flat=True
        )
    )


def contact_ensure(
    *, email: str, country: str, agency: Agency | None, organisation: str
) -> Contact:
    """The one Contact row for a normalised address; fill what it lacks."""
    contact, created = Contact.objects.get_or_create(
        email=email,
        defaults={"country": country, "agency": agency, "organisation": organisation[:255]},
    )
    missing = {
        "agency": agency if not contact.agency_id and agency is not None else None,
        "country": country if not contact.country and country else None,
    }
    missing = {name: value for name, value in missing.items() if value is not None}
    if not created and missing:
        for name, value in missing.items():
            setattr(contact, name, value)
        contact.save(update_fields=list(missing))
    return contact


# --- Hosts -----------------------------------------------------------------


HOST_COLUMNS = (
    "network_id",
    "contact_id",
    "contact_rule",
    "contact_confidence",
    "agency_id",
    "country",
    "asn",
)


def hosts_assign(
    *, hosts: list[Host], network: Network, router: Router, chains: dict[int, list] | None = None
) -> list[dict]:
    """Pick each host's contact, rule, confidence and agency, on the objects.

    Contacts and the network's agency are written at once (short writes that
    other workers share); the hosts are left for the caller to save in bulk.
    """
    agency = router.agency_for(network.country)
    _network_complete(network, agency=agency, hosts=hosts)
    if chains is None:
        chains = {host.id: host_chain(host=host, network=network) for host in hosts}
    blocked = router.blocked
    if blocked is None:
        blocked = emails_blocked({item["email"] for h in hosts for item in chains[h.id]})
    rows = []
    for host in hosts:
        pick = chain_pick(chains[host.id], blocked=blocked) or {}
        contact = _contact_for(
            pick.get("email"), network=network, country=network.country, router=router
        )
        host.network, host.contact = network, contact
        # The registry's country is the network's; the feed's origin AS is
        # the host's own, the network's is the fallback.
        host.country = network.country or host.country
        host.asn = host.asn or network.asn
        host.contact_rule, host.contact_confidence = pick.get("rule", ""), pick.get("confidence")
        host.agency = (contact.agency if contact else None) or agency
        rows.append(_row(host, network, contact, host.contact_rule, host.contact_confidence))
    return rows


def _network_complete(network: Network, *, agency: Agency | None, hosts: list[Host]) -> None:
    """Route the network, and take its ASN from the feeds when RDAP gave none.

    Only ARIN answers name an origin AS; the blocklists often do.
    """
    changed = []
    if network.agency_id != (agency.id if agency else None):
        network.agency = agency
        changed.append("agency")
    asns = Counter(host.asn for host in hosts if host.asn)
    if network.asn is None and asns:
        network.asn = asns.most_common(1)[0][0]
        changed.append("asn")
    if changed:
        network.save(update_fields=changed)


def _contact_for(
    email: str | None, *, network: Network | None, country: str, router: Router
) -> Contact | None:
    if email is None:
        return None
    agency = router.agency_for(country)
    known = router.contacts.get(email)
    lacking = known is None or (agency and not known.agency_id) or (country and not known.country)
    if lacking:
        router.contacts[email] = contact_ensure(
            email=email,
            country=country,
            agency=agency,
            organisation=network.name if network is not None else "",
        )
    return router.contacts[email]


def _row(
    host: Host,
    network: Network | None,
    contact: Contact | None,
    rule: str,
    confidence: float | None,
    error: str = "",
) -> dict:
    agency = host.agency if network is not None else None
    return {
        "host_id": host.id,
        "ip": host.ip,
        "network": network.cidr if network else None,
        "contact": contact.email if contact else None,
        "rule": rule,
        "confidence": confidence,
        "agency": agency.code if agency else None,
        "error": error,
    }


def contacts_lookup(
    *, host_ids: list[int], campaign_id: int | None = None, pacer: Pacer | None = None
) -> list[dict]:
    """Find network, contact and agency for each host; one row per host.

    Registry trouble never raises: a host whose lookup must wait gets an
    ``error`` and ``"retry": True`` in its row, and keeps what it had. Hosts
    are walked in address order so a run of hosts inside one network costs
    one cache read. With a ``pacer`` (the in-process command), rate limits
    are waited out instead: only a registry that is down defers a host.
    """
    hosts = sorted(Host.objects.filter(id__in=host_ids), key=lambda h: ip_key(h.ip))
    campaign = (
        Campaign.objects.filter(id=campaign_id).first()
        if campaign_id
        else campaign_for_hosts([h.id for h in hosts])
    )
    router = Router.for_campaign(campaign)
    # First every network (RDAP waits happen here, outside any transaction),
    # then one read of the known contacts, then the hosts in one bulk write.
    groups = list(_hosts_by_network(hosts, pacer=pacer))
    chains = {
        host.id: host_chain(host=host, network=network)
        for network, members, _error in groups
        if network is not None
        for host in members
    }
    disputes, confirmed = _dns_merge(groups, chains, pacer=pacer)
    groups = _regrouped(groups, confirmed)
    router.prefetch({item["email"] for chain in chains.values() for item in chain})
    rows: list[dict] = []
    for network, members, error in groups:
        if network is None:
            rows += [_row_deferred(host, error) for host in members]
        else:
            rows += hosts_assign(hosts=members, network=network, router=router, chains=chains)
    hosts_save(hosts=[h for n, members, _e in groups if n is not None for h in members])
    contact_disputes_open(disputes=disputes)
    return rows


# --- A second source: DNS, and the disputes it raises ------------------------


_DNS_SOURCES: dict[tuple, AbusixSource] = {}


def dns_source() -> AbusixSource | None:
    """The process's Abusix-format source (cache included), or None when off."""
    if not settings.CONTACT_DNS_RESOLVER:
        return None
    key = (
        settings.CONTACT_DNS_RESOLVER,
        settings.CONTACT_DNS_ZONE,
        settings.CONTACT_DNS_TIMEOUT,
        settings.CONTACT_DNS_MAX_IN_FLIGHT,
    )
    if key not in _DNS_SOURCES:
        _DNS_SOURCES[key] = AbusixSource(
            resolver=key[0], zone=key[1], timeout=key[2], max_in_flight=key[3]
        )
    return _DNS_SOURCES[key]


def _dns_merge(
    groups: list, chains: dict[int, list], *, pacer: Pacer | None
) -> tuple[list[tuple[Network, Host, list]], dict[int, Network]]:
    """Merge the DNS source into each host's chain.

    Returns the hosts whose sources still disagree, and the hosts moved to
    a network RDAP confirmed: when DNS disputes the bulk data, the live
    registry is asked (a dump is up to a day old; an assignment made since
    is the usual cause).
    """
    source = dns_source()
    hosts = [(n, h) for n, members, _e in groups if n is not None for h in members]
    hosts = [(n, h) for n, h in hosts if chains.get(h.id)]
    if source is None or not hosts:
        return [], {}
    # Abusix's data is kept per allocation (ISP level): one address of each
    # network run stands for its hosts, so queries grow with networks.
    asked_for = {n.id: h.ip for n, h in reversed(hosts)}
    by_network = source.lookup_many(list(asked_for.values()))
    answers = {h.ip: by_network[asked_for[n.id]] for n, h in hosts}
    today = timezone.now().date()
    disputed, confirmed = [], {}
    asked: dict[int, Network | None] = {}  # one confirmation per network
    for network, host in hosts:
        emails = answers[host.ip].emails
        merged, dispute = provenance.chain_merge(chains[host.id], dns_emails=emails, today=today)
        if dispute and str(chains[host.id][0].get("source", "")).startswith("dump:"):
            if network.id not in asked:
                asked[network.id] = _rdap_confirm(host.ip, pacer=pacer)
            checked = asked[network.id]
            if checked is not None and _holds(checked, host.ip):
                confirmed[host.id] = network = checked
                chain = host_chain(host=host, network=checked)
                merged, dispute = provenance.chain_merge(chain, dns_emails=emails, today=today)
        chains[host.id] = merged
        if dispute:
            disputed.append((network, host, merged))
    return disputed, confirmed


def _holds(network: Network, ip: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(network.cidr)


def _rdap_confirm(ip: str, *, pacer: Pacer | None) -> Network | None:
    try:
        return network_resolve_paced(ip=ip, wait=True, pacer=pacer, confirm=True)
    except (rdap.RdapError, FlightBusy) as exc:
        log.info("RDAP could not confirm %s: %s", ip, exc)
        return None


def _regrouped(groups: list, confirmed: dict[int, Network]) -> list:
    if not confirmed:
        return groups
    kept = [(n, [h for h in m if h.id not in confirmed], e) for n, m, e in groups]
    moved = [(confirmed[h.id], [h], None) for _n, m, _e in groups for h in m if h.id in confirmed]
    return [group for group in kept if group[1]] + moved


def contact_disputes_open(*, disputes: list[tuple[Network, Host, list]]) -> int:
    """One open review item per network whose sources disagree; returns how many new."""
    by_network = {network.id: (network, host, chain) for network, host, chain in disputes}
    already = set(
        ContactDispute.objects.open()
        .filter(network_id__in=list(by_network))
        .values_list("network_id", flat=True)
    )
    new = [
        ContactDispute(network=network, ip=host.ip, candidates=chain)
        for network_id, (network, host, chain) in by_network.items()
        if network_id not in already
    ]
    ContactDispute.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def hosts_save(*, hosts: list[Host]) -> None:
    """Write the contact fields of many hosts: one UPDATE per distinct value set.

    Hosts of one network share their values, so this is one statement per
    network; Django's bulk_update builds a CASE per row and is far slower.
    """
    groups: dict[tuple, list[int]] = {}
    for host in hosts:
        values = (
            host.network_id,
            host.contact_id,
            host.contact_rule,
            host.contact_confidence,
            host.agency_id,
            host.country,
            host.asn,
        )
        groups.setdefault(values, []).append(host.id)
    with transaction.atomic():
        # Sorted, so two batches sharing hosts lock their rows in one order.
        for values, ids in sorted(groups.items(), key=lambda item: min(item[1])):
            Host.objects.filter(id__in=sorted(ids)).update(
                **dict(zip(HOST_COLUMNS, values, strict=True))
            )


def _row_deferred(host: Host, error: rdap.RdapError) -> dict:
    return {**_row(host, None, None, "", None, error.reason), "retry": error.retry}


def _hosts_by_network(
    hosts: list[Host], *, pacer: Pacer | None = None
) -> Iterator[tuple[Network | None, list[Host], rdap.RdapError | None]]:
    """Group address-sorted hosts into runs that share one network.

    A host whose block another worker is looking up is put off to a second
    pass instead of waiting: workers walking the same addresses in the same
    order would otherwise queue behind each other network after network.
    """
    busy: list[Host] = []
    index = NetworkIndex.for_hosts(hosts)
    yield from _runs(hosts, index=index, busy=busy, pacer=pacer)
    yield from _runs(busy, index=index, busy=None, pacer=pacer)


def _runs(
    hosts: list[Host], *, index: NetworkIndex, busy: list[Host] | None, pacer: Pacer | None
) -> Iterator[tuple[Network | None, list[Host], rdap.RdapError | None]]:
    # After a failed lookup, the other hosts of the same block wait too:
    # asking again at once would only meet the same 429 or dead registry.
    current: Network | None = None
    run: list[Host] = []
    failed: tuple[str, rdap.RdapError] | None = None
    for host in hosts:
        known = index.find(host.ip)
        if known is not None and known is current:
            run.append(host)
            continue
        if run:
            yield current, run, None
        current, run = None, []
        block = _block(host.ip)
        if failed is not None and failed[0] == block and failed[1].retry:
            yield None, [host], failed[1]
            continue
        try:
            current = known or network_resolve_paced(ip=host.ip, wait=busy is None, pacer=pacer)
            run = [host]
            index.add(current)
        except FlightBusy:
            if busy is None:  # waited the whole lock timeout: try again later
                yield None, [host], rdap.RdapUnavailable("another worker is still asking")
            else:
                busy.append(host)
        except rdap.RdapError as exc:
            failed = (block, exc)
            yield None, [host], exc
    if run:
        yield current, run, None


class NetworkIndex:
    """The fresh cached networks of one batch's address span, read in one query.

    Only an accelerator: an address it cannot place goes to
    ``network_resolve``, which asks the database (and the registry) itself.
    """

    LIMIT = 5000
    WALK = 64

    def __init__(self, networks: list[Network]) -> None:
        self.networks = sorted(networks, key=self._key)
        self.keys = [self._key(n) for n in self.networks]
        self.ids = {n.id for n in self.networks}

    @staticmethod
    def _key(network: Network) -> tuple[str, int]:
        # Same start: the larger network first, so the walk back meets the
        # smaller (more specific) one first.
        return network.range_start, -int(network.range_end, 16)

    @classmethod
    def for_hosts(cls, hosts: list[Host]) -> NetworkIndex:
        if not hosts:
            return cls([])
        low, high = ip_key(hosts[0].ip), ip_key(hosts[-1].ip)
        fresh_since = timezone.now() - dt.timedelta(days=settings.RDAP_CACHE_DAYS)
        networks = list(
            Network.objects.filter(
                range_start__lte=high, range_end__gte=low, fetched_at__gte=fresh_since
            ).defer("raw_rdap")[: cls.LIMIT + 1]
        )
        # A span holding too many networks is read host by host instead.
        return cls(networks if len(networks) <= cls.LIMIT else [])

    def find(self, ip: str) -> Network | None:
        """The most specific known network holding ``ip`` (largest start first)."""
        key = ip_key(ip)
        position = bisect.bisect_right(self.keys, (key, 1))
        for network in reversed(self.networks[max(0, position - self.WALK) : position]):
            if network.range_end >= key:
                return network
        return None

    def add(self, network: Network) -> None:
        if network.id not in self.ids:
            position = bisect.bisect_right(self.keys, self._key(network))
            self.keys.insert(position, self._key(network))
            self.networks.insert(position, network)
            self.ids.add(network.id)


def _block(ip: str) -> str:
    return rdap.lock_key(
        ip, v4_prefix=settings.RDAP_LOCK_PREFIX_V4, v6_prefix=settings.RDAP_LOCK_PREFIX_V6
    )


def contact_fallback(*, contact_id: int) -> Contact | None:
    """Move this contact's hosts to the next contact of their chains.

    Used when a contact hard-bounces. Returns the contact most of the hosts
    moved to, or None when no chain has anyone left. Hosts with nobody left
    keep their contact, so the letter history still shows whom we tried.
    """
    contact = Contact.objects.filter(id=contact_id).first()
    if contact is None:
        return None
    hosts = list(
        Host.objects.filter(contact=contact).select_related("network").defer("network__raw_rdap")
    )
    moved: dict[int, int] = {}
    campaign = campaign_for_hosts([h.id for h in hosts])
    router = Router.for_campaign(campaign)
    with transaction.atomic():
        for host in hosts:
            pick = chain_pick(host_chain(host=host, network=host.network), after=contact.email)
            if pick is None:
                continue
            country = (host.network.country if host.network else "") or host.country
            new = _contact_for(pick["email"], network=host.network, country=country, router=router)
            Host.objects.filter(id=host.id).update(
                contact=new,
                contact_rule=pick["rule"],
                contact_confidence=pick["confidence"],
                agency=new.agency or host.agency,
            )
            moved[new.id] = moved.get(new.id, 0) + 1
    if not moved:
        return None
    return Contact.objects.get(id=max(moved, key=moved.__getitem__))


def hosts_ensure(*, ips: list[str]) -> list[int]:
    """The ids of the hosts for these addresses, creating the missing ones.

    Raises ValueError naming the first string that is not an IP address.
    """
    addresses = []
    for raw in ips:
        try:
            addresses.append(str(ipaddress.ip_address(raw.strip())))
        except ValueError:
            raise ValueError(f"{raw[:60]!r} is not an IP address") from None
    with transaction.atomic():
        for address in addresses:
            Host.objects.get_or_create(ip=address)
    return list(Host.objects.filter(ip__in=addresses).values_list("id", flat=True))
