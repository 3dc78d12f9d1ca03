"""Whether an agency's sender addresses can ever get mail back: pure, no ORM.

A letter's From, Reply-To and bounce (envelope sender) addresses must be in
domains the world can reach, or every answer and bounce is lost. Names that
RFC 6761 and RFC 2606 reserve never route: ``localhost``, ``.invalid``,
``.local`` (mDNS) and the ``localdomain`` convention. ``.example`` and
``.test`` (and example.com/.net/.org, which publish a null MX) route nowhere
either, but the lab and the demo use them, so lab mode allows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from letters.message import UnsafeHeaderError, address_checked

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
NEVER = {"localhost", "localdomain", "local", "invalid"}
LAB_ONLY_TLDS = {"example", "test"}
LAB_ONLY_DOMAINS = {"example.com", "example.net", "example.org"}


@dataclass(frozen=True)
class AddressProblem:
    field: str  # the Agency field to fix
    label: str
    value: str
    reason: str

    def __str__(self) -> str:
        # One whole sentence for translators; label and reason are translated
        # where they were found, in the reader's language.
        return _("%(label)s %(value)s: %(reason)s") % {
            "label": self.label,
            "value": repr(self.value),
            "reason": self.reason,
        }


def domain_problem(domain: str, *, lab: bool) -> str:
    """Why mail to ``domain`` cannot come back, or "" when it can."""
    name = (domain or "").strip().lower().removesuffix(".")
    if not name:
        return _("the domain is empty")
    labels = name.split(".")
    if len(labels) < 2:
        return _("a bare hostname (no dot in the domain)")
    if not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return _("not a domain name")
    if NEVER & set(labels):
        reserved = (NEVER & set(labels)).pop()
        return _("a reserved name that never routes (.%(name)s)") % {"name": reserved}
    lab_only = labels[-1] in LAB_ONLY_TLDS or ".".join(labels[-2:]) in LAB_ONLY_DOMAINS
    if lab_only and not lab:
        return _("a documentation domain, allowed only in lab mode")
    return ""


def address_problem(address: str, *, lab: bool) -> str:
    try:
        address_checked(address)
    except UnsafeHeaderError:
        return _("not a plain email address")
    problem = domain_problem(address.rpartition("@")[2], lab=lab)
    return _("its domain is %(problem)s") % {"problem": problem} if problem else ""


def sender_problems(
    *, contact_email: str, reply_domain: str, default_from: str, lab: bool
) -> list[AddressProblem]:
    """What stops an agency with these fields from sending (empty: nothing).

    The From address is the agency's contact e-mail, else DEFAULT_FROM_EMAIL;
    the Reply-To (relay+TOKEN@) and bounce (bounces+TOKEN@) addresses are both
    in the reply domain.
    """
    problems = []
    sender = contact_email or default_from
    if reason := address_problem(sender, lab=lab):
        if contact_email:
            label = _("From address (contact_email)")
        else:
            label = _("From address (DEFAULT_FROM_EMAIL, as contact_email is empty)")
        problems.append(AddressProblem("contact_email", label, sender, reason))
    if reason := domain_problem(reply_domain, lab=lab):
        label = _("Reply-To and bounce domain (reply_domain)")
        problems.append(AddressProblem("reply_domain", label, reply_domain, reason))
    return problems
