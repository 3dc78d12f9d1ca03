"""RDAP: ask the registry who runs a network, and pick whom to write to.

Two halves, neither touches the database:

* ``rdap_fetch`` asks a registry through ipwhois (bootstrap, no NIR step, no
  retries inside the call: ipwhois would ``sleep()`` in a worker on a 429, so
  rate limits surface as ``RdapRateLimited`` and Celery retries with backoff).
  ``RDAP_BASE_URL`` rewrites every registry and bootstrap URL to one base with
  the path kept, so the lab simulator can answer.
* ``network_extract`` turns the raw answer into a ``NetworkInfo`` with the
  ordered candidate contacts, each tagged with the rule that found it.

Registry answers are written by strangers: every read is bounded, every
email is validated, and names and addresses are kept as plain data.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from ipwhois import IPWhois
from ipwhois.asn import IPASN
from ipwhois.exceptions import (
    BaseIpwhoisException,
    HTTPLookupError,
    HTTPRateLimitError,
    IPDefinedError,
)
from ipwhois.rdap import RDAP

from outreach.validators import normalise_email
from probes import bootstrap

# Rule name → confidence. The order is the order of preference.
RULE_ABUSE_ROLE = "abuse_role"
RULE_REMARK = "remark"
RULE_REGISTRANT = "registrant"
RULE_PTR = "ptr_rfc2142"
RULE_NATIONAL = "national"
# The registry's own bulk data, resolved by its own rule (probes.registry_dump).
RULE_DUMP = "registry_dump"
CONFIDENCE = {
    RULE_ABUSE_ROLE: 0.95,
    RULE_DUMP: 0.9,
    RULE_REMARK: 0.8,
    RULE_REGISTRANT: 0.5,
    RULE_PTR: 0.3,
    RULE_NATIONAL: 0.2,
}

# Which bucket a request host draws from (see outreach.lib.bucket): a
# registry's own, or the bootstrap's for ARIN's bootstrap service.
REGISTRY_HOSTS = {"rdap-bootstrap.arin.net": "bootstrap", **bootstrap.REGISTRY_OF_HOST}
# Our registry names → ipwhois's.
IPWHOIS_REGISTRY = {
    "arin": "arin",
    "ripe": "ripencc",
    "apnic": "apnic",
    "lacnic": "lacnic",
    "afrinic": "afrinic",
}
PORT43_REGISTRY = {
    "whois.arin.net": "arin",
    "whois.ripe.net": "ripe",
    "whois.apnic.net": "apnic",
    "whois.lacnic.net": "lacnic",
    "whois.afrinic.net": "afrinic",
}
# Domains whose addresses answer for a whole registry or NIR, never for the
# network's operator (KRNIC's IRT object gives hostmaster@nic.or.kr).
PLACEHOLDER_DOMAINS = (
    "arin.net",
    "ripe.net",
    "apnic.net",
    "lacnic.net",
    "afrinic.net",
    "nic.or.kr",
    "nic.ad.jp",
    "jpnic.net",
    "twnic.net.tw",
    "cnnic.cn",
    "idnic.net",
    "vnnic.vn",
    "nic.br",
    "registro.br",
    "nic.mx",
)
# The last line of ARIN postal labels, for the countries of its region that
# matter most here; a miss leaves the country empty (the lead agency decides).
ADDRESS_COUNTRIES = {
    "UNITED STATES": "US",
    "CANADA": "CA",
    "PUERTO RICO": "PR",
    "JAMAICA": "JM",
    "BAHAMAS": "BS",
    "BARBADOS": "BB",
}
MAX_ENTITIES = 200
MAX_DEPTH = 4
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ABUSE_WORDS = re.compile(r"abuse|spam|complain", re.IGNORECASE)
# Second-level labels under which registries sell names (co.uk, com.br...):
# without the Public Suffix List, these mark a three-label registered domain.
_SECOND_LEVEL = {"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go", "gob", "gv"}


class RdapError(Exception):
    """A lookup that gave no usable answer; ``reason`` says why."""

    retry = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RdapRateLimited(RdapError):
    """A 429, a Rate Limit Notice or an empty local bucket: try again later."""

    retry = True

    def __init__(
        self, reason: str, *, wait: float = 60.0, registry: str = "", local: bool = False
    ) -> None:
        super().__init__(reason)
        self.wait = wait
        self.registry = registry
        # True: our own bucket refused (nothing was sent); False: the registry.
        self.local = local


class RdapUnavailable(RdapError):
    """The registry could not be reached: delay, never fail the campaign."""

    retry = True


class RdapBadAnswer(RdapError):
    """The registry answered something we refuse to read."""


@dataclass
class Candidate:
    email: str
    rule: str
    confidence: float
    organisation: str = ""

    def as_dict(self) -> dict:
        return {"email": self.email, "rule": self.rule, "confidence": self.confidence}


@dataclass
class NetworkInfo:
    """A network as one RDAP or WHOIS answer describes it, with its contact candidates."""

    cidr: str
    handle: str = ""
    name: str = ""
    country: str = ""
    registry: str = ""
    asn: int | None = None
    as_name: str = ""
    postal_address: str = ""
    organisation: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def abuse_emails(self) -> list[str]:
        return [c.email for c in self.candidates if c.rule == RULE_ABUSE_ROLE]


# --- HTTP: URL rewriting, bounded reads, rate limit hook -------------------


class RdapHandler(urllib.request.BaseHandler):
    """Rewrites registry URLs to ``base_url`` and bounds every answer.

    Registered for both schemes, so a bootstrap redirect to another registry
    is rewritten too. ``before_send(bucket)`` runs before each request leaves,
    with the bucket of the host the URL named before rewriting; it raises
    ``RdapRateLimited`` to keep a request from being sent at all. ipwhois
    turns every exception into one HTTPLookupError, so the handler keeps the
    real reason in ``failure`` for ``rdap_fetch`` to report.
    """

    handler_order = 100

    def __init__(
        self, *, base_url: str, max_bytes: int, before_send: Callable[[str], None] | None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_bytes = max_bytes
        self.before_send = before_send
        self.failure: RdapError | None = None
        self.retry_after = 0.0

    def _request(self, req: urllib.request.Request) -> urllib.request.Request:
        parts = urlsplit(req.full_url)
        if not self.base_url and parts.hostname not in REGISTRY_HOSTS:
            # A redirect may point anywhere: only the registries are asked.
            self.failure = RdapBadAnswer(f"redirected to {str(parts.hostname)[:80]!r}")
            raise self.failure
        if self.before_send is not None:
            try:
                self.before_send(bucket_of(parts.hostname or "", parts.path))
            except RdapError as exc:
                self.failure = exc
                raise
        if self.base_url:
            base = urlsplit(self.base_url)
            req.full_url = urlunsplit(
                (base.scheme, base.netloc, base.path + parts.path, parts.query, "")
            )
        return req

    def _response(self, req: urllib.request.Request, resp: object) -> object:
        body = resp.read(self.max_bytes + 1)
        if len(body) > self.max_bytes:
            self.failure = RdapBadAnswer(f"answer larger than {self.max_bytes} bytes")
            raise self.failure
        if resp.status == 429:
            self.retry_after = _seconds(resp.headers.get("Retry-After"))
        elif resp.status == 200 and not _is_json(body):
            self.failure = RdapBadAnswer("the answer is not a JSON object (an HTML page?)")
            raise self.failure
        capped = urllib.request.addinfourl(
            io.BytesIO(body), resp.headers or Message(), resp.url, resp.status
        )
        capped.msg = getattr(resp, "msg", "")
        return capped

    http_request = https_request = _request
    http_response = https_response = _response


def bucket_of(hostname: str, path: str) -> str:
    """The bucket a request draws from: "<registry>-entity" for entity fetches.

    RIPE and AFRINIC count the personal data an entity fetch returns, never
    the network lookups, so those are paced apart (see settings).
    """
    registry = REGISTRY_HOSTS.get(hostname, hostname)
    return f"{registry}-entity" if "/entity/" in path else registry


def _is_json(body: bytes) -> bool:
    """Whether the body is a JSON object (ipwhois would hide why it is not)."""
    try:
        return isinstance(json.loads(body.decode("utf-8", "replace")), dict)
    except ValueError:
        return False


def _seconds(value: str | None) -> float:
    try:
        return min(max(float(value or 0), 0.0), 3600.0)
    except ValueError:
        return 0.0


class _LoopRedirectHandler(urllib.request.HTTPRedirectHandler):
    # urllib's default allows 10 hops; a registry needs at most two.
    max_redirections = 3


def opener_build(
    *, base_url: str, max_bytes: int, before_send: Callable[[str], None] | None = None
) -> tuple[urllib.request.OpenerDirector, RdapHandler]:
    handler = RdapHandler(base_url=base_url, max_bytes=max_bytes, before_send=before_send)
    # An empty ProxyHandler: never route registry traffic through an env proxy.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _LoopRedirectHandler(), handler
    )
    return opener, handler


def _ipwhois_for(
    ip: str, *, timeout: int, opener: urllib.request.OpenerDirector, allowed: Iterable[str]
) -> IPWhois:
    address = ipaddress.ip_address(ip)
    lab = any(address in ipaddress.ip_network(net, strict=False) for net in allowed)
    # ipwhois misses some special-purpose ranges (100.64/10): check them all.
    if not address.is_global and not lab:
        raise RdapBadAnswer(f"{ip} is a special-purpose address")
    try:
        return IPWhois(ip, timeout=timeout, proxy_opener=opener)
    except IPDefinedError:
        if not lab:
            raise RdapBadAnswer(f"{ip} is a special-purpose address") from None
    # The lab looks up documentation addresses, which ipwhois refuses: build
    # the object for a global stand-in (never contacted: only the RDAP step
    # runs, and it reads address_str alone), then put the real address back.
    obj = IPWhois("192.88.98.1" if address.version == 4 else "2001:4860::1", timeout, opener)
    obj.net.address, obj.net.address_str = address, str(address)
    obj.address, obj.address_str = address, str(address)
    return obj


def rdap_fetch(
    ip: str,
    *,
    base_url: str = "",
    timeout: int = 5,
    max_bytes: int = 2_000_000,
    allowed: Iterable[str] = (),
    before_send: Callable[[str], None] | None = None,
) -> dict:
    """The raw RDAP answer for ``ip``: one request (plus a bootstrap redirect)."""
    opener, handler = opener_build(base_url=base_url, max_bytes=max_bytes, before_send=before_send)
    whois = _ipwhois_for(ip, timeout=timeout, opener=opener, allowed=allowed)
    try:
        result = _lookup(whois, bootstrap.registry_for(ip))
    except HTTPRateLimitError:
        raise RdapRateLimited(
            "the registry rate-limited us (429 or Rate Limit Notice)",
            wait=handler.retry_after or 60.0,
            registry=bootstrap.registry_for(ip),
        ) from None
    except HTTPLookupError as exc:
        raise handler.failure or _lookup_error(str(exc)) from None
    except (BaseIpwhoisException, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RdapBadAnswer(f"unreadable RDAP answer: {type(exc).__name__}") from None
    return _raw_checked(result.get("raw"))


def _lookup(whois: IPWhois, registry: str) -> dict:
    # The registry from the shipped RFC 7484 files: no bootstrap request. An
    # address they do not place goes through ARIN's bootstrap redirect.
    # root_ent_check=False: never fetch each entity again (personal data).
    if registry:
        return RDAP(whois.net).lookup(
            inc_raw=True,
            retry_count=0,
            asn_data={"asn_registry": IPWHOIS_REGISTRY[registry]},
            depth=0,
            bootstrap=False,
            root_ent_check=False,
        )
    return whois.lookup_rdap(
        inc_raw=True, retry_count=0, depth=0, bootstrap=True, inc_nir=False, root_ent_check=False
    )


def asn_lookup(
    ip: str, *, nameserver: str, timeout: int = 5, allowed: Iterable[str] = ()
) -> tuple[int | None, str]:
    """The origin AS and its name from Team Cymru's DNS, or (None, "").

    ``nameserver`` is "system" (the host's resolver, production) or
    "host:port" (the lab's server). Optional data: every failure is quiet.
    """
    opener, _handler = opener_build(base_url="", max_bytes=1)
    try:
        whois = _ipwhois_for(ip, timeout=timeout, opener=opener, allowed=allowed)
    except RdapError:
        return None, ""
    if nameserver != "system":
        host, _sep, port = nameserver.rpartition(":")
        whois.net.dns_resolver.nameservers = [host]
        whois.net.dns_resolver.port = int(port)
    whois.net.dns_zone = _cymru_zone(ipaddress.ip_address(ip))
    try:
        data = IPASN(whois.net).lookup(asn_methods=["dns"], retry_count=0)
    except (BaseIpwhoisException, ValueError, KeyError, IndexError):
        return None, ""
    asn = str(data.get("asn") or "").split(" ")[0]
    name = _text(data.get("asn_description"), 255)
    return (int(asn) if asn.isdigit() and 0 < int(asn) < 2**32 else None), name


def _cymru_zone(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # As ipwhois builds it, here also for the lab's addresses that it refuses.
    if address.version == 4:
        return ".".join(reversed(str(address).split("."))) + ".origin.asn.cymru.com."
    groups = address.exploded.split(":")
    while groups and groups[-1] == "0000":
        groups.pop()
    return ".".join("".join(groups)[::-1]) + ".origin6.asn.cymru.com."


def _lookup_error(text: str) -> RdapError:
    # ipwhois folds every failure into one message: sort the transient ones
    # (socket errors, 5xx) from the answers we refuse (4xx, redirect loops).
    code = re.search(r"error code (\d{3})", text)
    if code is None or code.group(1).startswith("5"):
        status = f"answered HTTP {code.group(1)}" if code else "could not be reached"
        return RdapUnavailable(f"the registry {status}")
    if code.group(1).startswith("3"):
        return RdapBadAnswer("the registry redirected in a loop")
    return RdapBadAnswer(f"the registry answered HTTP {code.group(1)}")


def _raw_checked(raw: object) -> dict:
    if not isinstance(raw, dict):
        raise RdapBadAnswer("the RDAP answer is not a JSON object")
    if raw.get("objectClassName", "ip network") != "ip network":
        raise RdapBadAnswer("the RDAP answer is not an ip network object")
    return raw


# --- Extraction: raw JSON → NetworkInfo ------------------------------------


def network_extract(
    raw: dict, *, ip: str, placeholder_domains: Iterable[str] = PLACEHOLDER_DOMAINS
) -> NetworkInfo:
    """Read the network and its candidate contacts, best first, from an answer."""
    raw = _raw_checked(raw)
    info = NetworkInfo(
        cidr=network_cidr(raw, ip=ip),
        handle=_text(raw.get("handle"), 100),
        name=_text(raw.get("name"), 255),
        country=_country(raw.get("country")),
        registry=registry_of(raw),
        asn=_origin_asn(raw),
    )
    entities = list(_entities(raw.get("entities")))
    collected: list[Candidate] = []
    for rule, emails in _rule_emails(raw, entities):
        collected.extend(Candidate(e, rule, CONFIDENCE[rule]) for e in emails)
    info.candidates, info.rejected = candidates_clean(collected, placeholder_domains)
    info.postal_address, info.organisation = _postal_and_org(entities)
    # ARIN networks carry no country: read it from the registrant's address.
    info.country = info.country or _country_of_address(info.postal_address)
    return info


def _rule_emails(raw: dict, entities: list[tuple[dict, int]]) -> Iterator[tuple[str, list]]:
    abuse = [vcard_emails(e) for e in abuse_entities_ranked(raw.get("entities"))]
    yield RULE_ABUSE_ROLE, [email for group in abuse for email in group]
    remark_sources = [raw, *(e for e, _depth in entities)]
    yield RULE_REMARK, [m for obj in remark_sources for m in remark_abuse_emails(obj)]
    owners = [e for e, _d in entities if _roles(e) & {"registrant", "technical", "administrative"}]
    # AFRINIC entities may carry no roles at all: they are the network's
    # own contacts, the weakest of this rule.
    owners += [e for e, _d in entities if not _roles(e)]
    yield RULE_REGISTRANT, [email for e in owners for email in vcard_emails(e)]


def abuse_entities_ranked(items: object) -> list[dict]:
    """The abuse entities, the network's own before any organisation's.

    ARIN's rule: a POC on the network overrides the one its organisation
    (the registrant) carries, however deep ARIN nests the latter. Within
    each side the shallowest comes first; the walk order breaks ties.
    """
    found = [
        (org_level, depth, order, entity)
        for order, (entity, depth, org_level) in enumerate(_entities_owned(items))
        if "abuse" in _roles(entity)
    ]
    return [entity for *_key, entity in sorted(found, key=lambda item: item[:3])]


def _entities_owned(
    items: object, depth: int = 0, org_level: bool = False
) -> Iterator[tuple[dict, int, bool]]:
    """Every entity with its depth and whether a registrant holds it."""
    if depth > MAX_DEPTH or not isinstance(items, list):
        return
    for entity in items[:MAX_ENTITIES]:
        if isinstance(entity, dict):
            yield entity, depth, org_level
            below = org_level or "registrant" in _roles(entity)
            yield from _entities_owned(entity.get("entities"), depth + 1, below)


def _entities(items: object, depth: int = 0) -> Iterator[tuple[dict, int]]:
    """Every entity at any depth (ARIN nests its abuse POC one level down)."""
    if depth > MAX_DEPTH or not isinstance(items, list):
        return
    for entity in items[:MAX_ENTITIES]:
        if isinstance(entity, dict):
            yield entity, depth
            yield from _entities(entity.get("entities"), depth + 1)


def _roles(entity: dict) -> set[str]:
    roles = entity.get("roles")
    return {r.lower() for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()


def _vcard_items(entity: dict) -> list[list]:
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and isinstance(card[1], list)):
        return []
    return [item for item in card[1][:MAX_ENTITIES] if isinstance(item, list) and len(item) >= 4]


def vcard_emails(entity: dict) -> list[str]:
    return [
        item[3] for item in _vcard_items(entity) if item[0] == "email" and isinstance(item[3], str)
    ]


def remark_abuse_emails(obj: dict) -> list[str]:
    """Addresses in remark lines that speak of abuse or spam."""
    found: list[str] = []
    remarks = obj.get("remarks")
    for remark in remarks[:50] if isinstance(remarks, list) else []:
        lines = remark.get("description") if isinstance(remark, dict) else None
        for line in lines[:100] if isinstance(lines, list) else []:
            if isinstance(line, str) and _ABUSE_WORDS.search(line[:1000]):
                found.extend(_EMAIL_IN_TEXT.findall(line[:1000]))
    return found


def candidates_clean(
    candidates: list[Candidate], placeholder_domains: Iterable[str]
) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Normalise, drop invalid and placeholder addresses, keep the first of each."""
    domains = tuple(d.lower() for d in placeholder_domains)
    kept: dict[str, Candidate] = {}
    rejected: list[tuple[str, str]] = []
    for cand in candidates:
        try:
            email = email_check(cand.email, placeholder_domains=domains)
        except ValueError as exc:
            if (cand.email[:254], str(exc)) not in rejected:
                rejected.append((cand.email[:254], str(exc)))
            continue
        kept.setdefault(email, Candidate(email, cand.rule, cand.confidence, cand.organisation))
    return list(kept.values()), rejected


def email_check(raw: str, *, placeholder_domains: Iterable[str] = PLACEHOLDER_DOMAINS) -> str:
    """The normalised address, or ValueError with the reason it is refused."""
    if len(raw) > 254:
        raise ValueError("address longer than 254 characters")
    try:
        email = normalise_email(raw)
    except ValidationError as exc:
        raise ValueError(" ".join(exc.messages)) from None
    domain = email.rsplit("@", 1)[1]
    for placeholder in placeholder_domains:
        if domain == placeholder or domain.endswith("." + placeholder):
            raise ValueError(f"registry placeholder address ({placeholder})")
    return email


def _postal_and_org(entities: list[tuple[dict, int]]) -> tuple[str, str]:
    """The postal label and name of the registrant (or first entity that has one)."""
    ranked = sorted(entities, key=lambda pair: ("registrant" not in _roles(pair[0]), pair[1]))
    address = org = ""
    for entity, _depth in ranked:
        for item in _vcard_items(entity):
            if item[0] == "adr" and not address:
                address = _adr_label(item)
            if item[0] == "fn" and not org and isinstance(item[3], str):
                org = _text(item[3], 255)
    return address, org


def _adr_label(item: list) -> str:
    params = item[1] if isinstance(item[1], dict) else {}
    label = params.get("label")
    if isinstance(label, str) and label.strip():
        # APNIC writes the line breaks of its labels as a literal backslash-n.
        return _text(label.replace("\\n", "\n"), 1000, keep_newlines=True)
    parts = item[3] if isinstance(item[3], list) else []
    lines = [p for p in parts if isinstance(p, str) and p.strip()]
    return _text("\n".join(lines), 1000, keep_newlines=True)


def _text(value: object, limit: int, *, keep_newlines: bool = False) -> str:
    """A bounded string with control characters removed (kept as data)."""
    if not isinstance(value, str):
        return ""
    allowed = "\n" if keep_newlines else ""
    cleaned = "".join(ch for ch in value if ch >= " " or ch in allowed)
    return cleaned.strip()[:limit]


def _country(value: object) -> str:
    text = _text(value, 2).upper()
    return text if re.fullmatch(r"[A-Z]{2}", text) else ""


def _country_of_address(address: str) -> str:
    lines = [line.strip().upper() for line in address.splitlines() if line.strip()]
    return ADDRESS_COUNTRIES.get(lines[-1], "") if lines else ""


def _origin_asn(raw: dict) -> int | None:
    # ARIN lists origin ASes in an extension; other registries do not.
    values = raw.get("arin_originas0_originautnums")
    if isinstance(values, list) and values and isinstance(values[0], int):
        return values[0] if 0 < values[0] < 2**32 else None
    return None


def registry_of(raw: dict) -> str:
    port43 = raw.get("port43")
    if isinstance(port43, str) and port43.lower() in PORT43_REGISTRY:
        return PORT43_REGISTRY[port43.lower()]
    for link in raw.get("links") or []:
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str):
            host = urlsplit(href).hostname or ""
            if REGISTRY_HOSTS.get(host, "bootstrap") != "bootstrap":
                return REGISTRY_HOSTS[host]
    return ""


# --- Network range ---------------------------------------------------------


def network_cidr(raw: dict, *, ip: str) -> str:
    """The most specific CIDR of the answer that holds ``ip``.

    Registries write ranges in many spellings ("074.125.000.000",
    "62.239.237.0/32", "2001:0240::"). A range that is not one CIDR is cut
    into CIDRs and the one holding the address is kept, so the cache never
    claims an address the answer did not cover.
    """
    address = ipaddress.ip_address(ip)
    for net in _cidr0(raw, address.version):
        if address in net:
            return str(net)
    start, end = address_parse(raw.get("startAddress")), address_parse(raw.get("endAddress"))
    if start is None or end is None or start.version != end.version or start > end:
        raise RdapBadAnswer("the answer has no usable address range")
    if not start <= address <= end:
        raise RdapBadAnswer(f"the answer's range {start} - {end} does not hold {ip}")
    for net in ipaddress.summarize_address_range(start, end):
        if address in net:
            return str(net)
    raise RdapBadAnswer("the answer's range does not hold the address")  # pragma: no cover


def _cidr0(raw: dict, version: int) -> Iterator[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    items = raw.get("cidr0_cidrs")
    for item in items[:50] if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        prefix = item.get("v4prefix" if version == 4 else "v6prefix")
        try:
            yield ipaddress.ip_network(f"{prefix}/{int(item.get('length'))}", strict=False)
        except (TypeError, ValueError):
            continue


def address_parse(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(value, str) or len(value) > 60:
        return None
    text = value.strip().split("/", 1)[0]
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", text):
        text = ".".join(str(int(part)) for part in text.split("."))
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


# --- RFC 2142 fallback -----------------------------------------------------


def ptr_abuse_address(ptr: str) -> str:
    """abuse@ the registered domain of a PTR name, or "" when there is none.

    Without the Public Suffix List we take the last two labels, or three when
    the second-level label is one registries sell under (co.uk, com.br).
    """
    labels = [label for label in (ptr or "").strip().rstrip(".").lower().split(".") if label]
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9-]{1,63}", lab) for lab in labels):
        return ""
    take = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return "abuse@" + ".".join(labels[-take:])


def lock_key(ip: str, *, v4_prefix: int, v6_prefix: int) -> str:
    """The block two workers must not query at once (networks rarely straddle it)."""
    address = ipaddress.ip_address(ip)
    prefix = v4_prefix if address.version == 4 else v6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
