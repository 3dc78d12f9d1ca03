"""factory_boy factories for every model."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from letters.models import Letter, RecipientAction, RecipientToken, Response
from outreach.lib.verdict_names import OPEN_RELAY
from outreach.models import Agency, Campaign, Contact, Host, Membership, Network
from probes.models import Feed, Listing, Probe


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@agency.example")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Agency {n}")
    code = factory.Sequence(lambda n: f"ag{n}")
    country = "US"
    default_language = "en"
    contact_email = factory.LazyAttribute(lambda o: f"relay@{o.code}.example")
    reply_domain = factory.LazyAttribute(lambda o: f"{o.code}.example")
    jurisdiction = factory.LazyAttribute(lambda o: [o.country])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    agency = factory.SubFactory(AgencyFactory)
    role = Membership.Role.VIEWER


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    lead_agency = factory.SubFactory(AgencyFactory)
    instructions_url = "https://agency.example/openrelay"


class NetworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Network

    # Never 198.51.100.0/24: tests create that documentation network by hand,
    # and a default that reached it (every hundredth network) broke them
    # depending on test order. Rows only: no traffic goes to these networks.
    cidr = factory.Sequence(lambda n: f"198.51.{101 + n % 99}.0/24")
    registry = "arin"
    handle = factory.Sequence(lambda n: f"NET-{n}")
    name = factory.Sequence(lambda n: f"EXAMPLE-NET-{n}")
    country = "US"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"abuse{n}@isp.example")
    organisation = factory.Sequence(lambda n: f"ISP {n}")
    country = "US"


class HostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Host

    ip = factory.Sequence(lambda n: f"203.0.113.{n % 250 + 1}" if n < 250 else f"2001:db8::{n:x}")
    country = "US"


class FeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feed

    name = factory.Sequence(lambda n: f"feed-{n}")
    format = "plain"


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing

    feed = factory.SubFactory(FeedFactory)
    host = factory.SubFactory(HostFactory)
    reason = "mail"


class ProbeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Probe

    host = factory.SubFactory(HostFactory)
    verdict = OPEN_RELAY
    tests_passed = [1]
    transcript = "S: 220 relay.isp.example ESMTP\nC: EHLO probe.agency.example\n"


class LetterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Letter

    campaign = factory.SubFactory(CampaignFactory)
    agency = factory.SelfAttribute("campaign.lead_agency")
    contact = factory.SubFactory(ContactFactory)


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    letter = factory.SubFactory(LetterFactory)
    sender = "abuse@isp.example"
    subject = "Re: open relay"
    body = "We fixed it."


class RecipientTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecipientToken

    letter = factory.SubFactory(LetterFactory)
    secret = factory.Sequence(lambda n: f"{n:064x}")
    token_hash = factory.Sequence(lambda n: f"{n:064x}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=180))


class RecipientActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecipientAction

    token = factory.SubFactory(RecipientTokenFactory)
    letter = factory.SelfAttribute("token.letter")
    action = RecipientAction.Action.ANSWER
    client_ip = "127.0.0.1"


class SmarthostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "letters.Smarthost"

    agency = factory.SubFactory(AgencyFactory)
    host = "127.0.0.1"
    port = 2525
    security = "none"


class MailboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "letters.Mailbox"

    agency = factory.SubFactory(AgencyFactory)
    host = "imap.agency.example"
    username = "relay"
    password_env = "MAILBOX_PASSWORD"


class ContactDisputeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "probes.ContactDispute"

    network = factory.SubFactory(NetworkFactory)
    ip = "192.0.2.9"
    candidates = factory.LazyFunction(
        lambda: [
            {"email": "abuse@isp.example", "source": "rdap:ripe"},
            {"email": "noc@isp.example", "source": "dns:abusix"},
        ]
    )
