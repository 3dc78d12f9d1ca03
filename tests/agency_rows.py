"""One row of every admin-registered model, owned by a given agency.

The access matrix (tests/test_access_matrix.py) builds two agencies with a
row of every model from this registry and checks that neither sees the
other's. When you register a model in the admin, add a builder here: the
matrix fails, naming the model, until you do.

A builder takes the owning agency and returns the row. For models that only
investigators see (no agency path), it still takes the agency and may ignore it.
"""

from __future__ import annotations

from collections.abc import Callable

from auditlog.models import LogEntry
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.db import models
from django_otp.plugins.otp_totp.models import TOTPDevice

from letters.models import Letter, Mailbox, RecipientAction, RecipientToken, Response, Smarthost
from outreach.audit import audit_event
from outreach.models import Agency, Campaign, Contact, Host, Membership, Network
from probes.models import ContactDispute, Feed, Listing, Probe
from tests import factories as f

Builder = Callable[[Agency], models.Model]


def _member(agency: Agency, name: str = "member") -> models.Model:
    return f.MembershipFactory(agency=agency, user__username=f"{agency.code}-{name}").user


def _letter(agency: Agency) -> Letter:
    campaign = f.CampaignFactory(lead_agency=agency)
    return f.LetterFactory(campaign=campaign, agency=agency, contact__agency=agency)


def _access(model: type[models.Model]) -> Builder:
    def build(agency: Agency) -> models.Model:
        fields = {
            "username": f"{agency.code}-locked",
            "ip_address": "192.0.2.7",
            "user_agent": "test",
            "http_accept": "*/*",
            "path_info": "/admin/login/",
        }
        if model is AccessAttempt:
            fields |= {"get_data": "", "post_data": "", "failures_since_start": 9}
        return model.objects.create(**fields)

    return build


ROW_FOR: dict[type[models.Model], Builder] = {
    Agency: lambda agency: agency,
    Membership: lambda agency: f.MembershipFactory(
        agency=agency, user__username=f"{agency.code}-viewer-2"
    ),
    Campaign: lambda agency: f.CampaignFactory(lead_agency=agency, slug=f"{agency.code}-led"),
    Network: lambda agency: f.NetworkFactory(agency=agency, name=f"{agency.code.upper()}-NET"),
    Contact: lambda agency: f.ContactFactory(
        agency=agency, email=f"abuse@{agency.code}-isp.example"
    ),
    Host: lambda agency: f.HostFactory(agency=agency, ptr=f"relay.{agency.code}-isp.example"),
    Response: lambda agency: f.ResponseFactory(
        letter=_letter(agency), subject=f"Re: relay at {agency.code}-isp"
    ),
    Feed: lambda agency: f.FeedFactory(name=f"{agency.code}-feed"),
    Listing: lambda agency: f.ListingFactory(host__agency=agency, reason=f"{agency.code}-reason"),
    Probe: lambda agency: f.ProbeFactory(host__agency=agency, banner=f"220 {agency.code}-mx"),
    Letter: _letter,
    ContactDispute: lambda agency: ContactDispute.objects.create(
        network=f.NetworkFactory(agency=agency, name=f"{agency.code.upper()}-DISPUTED"),
        ip="192.0.2.9",
        candidates=[{"email": f"abuse@{agency.code}-isp.example", "source": "rdap:ripe"}],
    ),
    Smarthost: lambda agency: f.SmarthostFactory(agency=agency, host=f"smtp.{agency.code}.example"),
    Mailbox: lambda agency: f.MailboxFactory(agency=agency, username=f"{agency.code}-relay"),
    RecipientToken: lambda agency: f.RecipientTokenFactory(letter=_letter(agency)),
    RecipientAction: lambda agency: f.RecipientActionFactory(
        token__letter=_letter(agency), user_agent=f"{agency.code}-browser"
    ),
    get_user_model(): _member,
    LogEntry: lambda agency: audit_event(actor=None, obj=agency, event="export"),
    AccessAttempt: _access(AccessAttempt),
    AccessLog: _access(AccessLog),
    AccessFailureLog: _access(AccessFailureLog),
    TOTPDevice: lambda agency: TOTPDevice.objects.create(
        user=_member(agency, "phone-owner"), name=f"{agency.code}-phone"
    ),
}
