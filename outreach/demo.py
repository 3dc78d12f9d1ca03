"""The embedded demo: one whole campaign against the lab's simulated internet.

Every address of the simulated internet is in 198.18.0.0/15 (the benchmarking
range, never routed on the internet). The lab maps each one to an SMTP host on
127.77.x.y, the RDAP simulator answers for their networks, and outgoing mail
goes to a sink on loopback. Nothing leaves this machine: lab mode only ever
connects to loopback endpoints, and every address in the demo is .example.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from lab.mailsink import MailSink
from lab.rdap import RdapSimulator, generated_answer
from lab.smtp import Lab
from outreach.celery import app as celery_app

SIMULATED_PREFIX = "198.18"


@dataclass(frozen=True)
class DemoNetwork:
    country: str
    organisation: str
    domain: str
    # The lab behaviour of each host, space separated (see lab.smtp).
    lab: str
    # Open relays the owner "fixes" after reading the letter.
    fixes: int = 0

    @property
    def behaviours(self) -> list[str]:
        return self.lab.split()


# One /24 per owner; letters come out in each owner's language.
NETWORKS = (
    DemoNetwork("BR", "Provedor Exemplo Ltda", "provedor-exemplo.example", "open open closed", 1),
    DemoNetwork("JP", "Example Networks K.K.", "jp-networks.example", "open open", 2),
    DemoNetwork("FR", "Réseau Exemple SARL", "reseau-exemple.example", "open percent closed", 1),
    DemoNetwork("DE", "Beispiel Netz GmbH", "beispiel-netz.example", "open auth"),
    DemoNetwork("CL", "Red Ejemplo SpA", "red-ejemplo.example", "open greylist", 1),
    DemoNetwork(
        "US", "Example Hosting LLC", "example-hosting.example", "open open closed tarpit", 1
    ),
    DemoNetwork("AU", "Example Pty Ltd", "example-au.example", "open starttls"),
    DemoNetwork("CA", "Exemple Canada Inc.", "exemple-ca.example", "open closed"),
    DemoNetwork("RU", "Primer Telecom", "primer-telecom.example", "open garbage"),
    DemoNetwork("EG", "Example Nile Net", "nile-net.example", "open drop"),
    DemoNetwork("CN", "Example Cloud Co.", "example-cloud.example", "open open"),
    DemoNetwork("KR", "Example Telecom Korea", "example-kr.example", "open huge"),
)


def simulated_ip(network_index: int, host_index: int) -> str:
    return f"{SIMULATED_PREFIX}.{network_index + 1}.{host_index + 10}"


def rdap_answers() -> dict[str, dict]:
    """One recorded-style RDAP answer per demo network, keyed by its first address."""
    answers = {}
    for index, net in enumerate(NETWORKS):
        ip = simulated_ip(index, 0)
        answer = generated_answer(ip)
        answer["country"] = net.country
        answer["name"] = net.organisation.upper().replace(" ", "-")[:40]
        vcard = answer["entities"][0]["vcardArray"][1]
        vcard[1][3] = net.organisation
        vcard[2][3] = f"abuse@{net.domain}"
        answers[ip] = answer
    return answers


@dataclass
class DemoReport:
    steps: list[tuple[str, str, float]] = field(default_factory=list)

    def add(self, name: str, summary: str, seconds: float) -> None:
        self.steps.append((name, summary, seconds))


class Demo:
    """Runs the eight steps; the lab, the RDAP simulator and the sink stay up
    afterwards so the admin's re-probe and the recipient page keep working."""

    def __init__(self, *, out: Path, say: Callable[[str], None]) -> None:
        self.out = out
        self.say = say
        self.report = DemoReport()
        self.lab = Lab(port=settings.DEMO_LAB_PORT, tarpit_seconds=60)
        self.rdap = RdapSimulator(answers=rdap_answers(), port=settings.DEMO_RDAP_PORT)
        self.sink = MailSink(port=settings.EMAIL_PORT)
        self.lab_ips: dict[str, str] = {}
        # With REDIS_URL the stages run on the Celery workers; they reach the
        # lab, the simulator and the sink over loopback like any worker would.
        self.workers = not celery_app.conf.task_always_eager

    def start_lab(self) -> None:
        self.lab.start()
        self.rdap.__enter__()
        self.sink.__enter__()
        targets, behaviours = [], []
        for n, net in enumerate(NETWORKS):
            for h, behaviour in enumerate(net.behaviours):
                targets.append(simulated_ip(n, h))
                behaviours.append(behaviour)
        hosts = self.lab.hosts_add(behaviours)
        mapping = {t: h.endpoint for t, h in zip(targets, hosts, strict=True)}
        self.lab_ips = {t: h.ip for t, h in zip(targets, hosts, strict=True)}
        map_path = Path(settings.LAB_HOST_MAP)
        map_path.parent.mkdir(parents=True, exist_ok=True)
        map_path.write_text(json.dumps(mapping, indent=1))
        self.say(f"lab: {len(hosts)} SMTP hosts on 127.77.x.y, RDAP at {self.rdap.base_url}")

    def stop(self) -> None:
        self.sink.__exit__()
        self.rdap.__exit__()
        self.lab.stop()

    def step(self, name: str, action: Callable[[], str]) -> None:
        self.say(f"→ {name} …")
        started = time.perf_counter()
        summary = action()
        seconds = time.perf_counter() - started
        self.report.add(name, summary, seconds)
        self.say(f"  {summary} ({seconds:.1f} s)")

    def run(self, *, campaign_slug: str, user: object) -> DemoReport:
        from outreach.models import Campaign

        self.campaign = Campaign.objects.get(slug=campaign_slug)
        self.user = user
        self.step("1. import a blocklist", self.import_list)
        self.step("2. verify the hosts (SMTP probes)", self.verify)
        self.step("3. look up abuse contacts (RDAP)", self.contacts)
        self.step("4. build and approve letters", self.letters)
        self.step("5. export the PDFs", self.export)
        self.step("6. send the letters", self.send)
        self.step("7. ingest replies and bounces", self.ingest)
        self.step("8. re-probe after the deadline", self.remediate)
        return self.report

    # --- the steps -----------------------------------------------------------
    def import_list(self) -> str:
        from probes.feed_import import feed_import_source
        from probes.models import Feed

        path = self.out / "demo-blocklist.txt"
        lines = ["# Demo blocklist: the lab's simulated internet (198.18.0.0/15)"]
        lines += list(self.lab_ips)
        lines += ["10.0.0.1", "not-an-address", simulated_ip(0, 0)]  # refused, junk, duplicate
        path.write_text("\n".join(lines) + "\n")
        feed, _ = Feed.objects.get_or_create(name="demo-relays", defaults={"format": "plain"})
        summary = feed_import_source(feed=feed, source=str(path), campaign=self.campaign)
        data = summary.as_dict()
        return (
            f"{data['accepted']} accepted, {data['new_hosts']} new hosts, "
            f"{data['duplicates']} duplicate, rejected {data['rejected']}"
        )

    def verify(self) -> str:
        from probes.verify import hosts_verify
        from probes.verify_run import hosts_verify_run

        hosts = self.campaign.hosts.all()
        ids = list(hosts.values_list("id", flat=True))
        if self.workers:
            # Waits on the database, not on results: survives a broker restart.
            run = hosts_verify_run(host_ids=ids, stall_seconds=30)
            verdicts = hosts.values_list("last_verdict", flat=True)
            return _counts(verdicts) + f" ({run['verified']} verified on the workers)"
        return _counts(r.verdict for r in hosts_verify(host_ids=ids))

    def contacts(self) -> str:
        from outreach.models import Host
        from probes.contacts import contacts_lookup
        from probes.tasks_rdap import contacts_lookup_batch

        relays = self.campaign.hosts.filter(status=Host.Status.OPEN_RELAY)
        ids = list(relays.values_list("id", flat=True))
        if self.workers:
            contacts_lookup_batch.delay(ids, self.campaign.id).get(timeout=600)
        else:
            contacts_lookup(host_ids=ids, campaign_id=self.campaign.id)
        found = relays.filter(contact__isnull=False)
        agencies = _counts(found.values_list("agency__code", flat=True))
        return f"{found.count()}/{len(ids)} open relays have a contact; agencies: {agencies}"

    def letters(self) -> str:
        from letters.build import letter_approve, letters_build
        from letters.models import Letter

        summary = letters_build(campaign_id=self.campaign.id)
        for letter_id in Letter.objects.filter(campaign=self.campaign).values_list("id", flat=True):
            letter_approve(letter_id=letter_id, user=self.user)
        languages = _counts(
            Letter.objects.filter(campaign=self.campaign).values_list("language", flat=True)
        )
        return f"{summary.created} letters built and approved; languages: {languages}"

    def export(self) -> str:
        from letters.exports import letters_export
        from letters.models import Letter

        letters = Letter.objects.filter(campaign=self.campaign).order_by("id")
        archive = self.out / "letters.zip"
        letters_export(letters=letters, out=archive)
        pdf_dir = self.out / "pdf"
        pdf_dir.mkdir(exist_ok=True)
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(pdf_dir)
        pdfs = sorted(pdf_dir.glob("*.pdf"))
        return f"{len(pdfs)} PDFs in {pdf_dir}/ and {archive}"

    def send(self) -> str:
        from letters.outbox import outbox_send
        from letters.tasks import letters_send_task

        if self.workers:
            report = letters_send_task.delay(self.campaign.id).get(timeout=600)
        else:
            report = outbox_send(campaign_id=self.campaign.id).figures()
        return (
            f"{report['sent']} sent, {report['failed']} failed, {report['retry']} to retry; "
            f"the sink on 127.0.0.1:{settings.EMAIL_PORT} received {len(self.sink.received)}"
        )

    def ingest(self) -> str:
        from letters.inbound import mail_ingest
        from letters.models import Letter

        letters = list(Letter.objects.filter(campaign=self.campaign).select_related("agency"))
        kinds = []
        for make, letter in zip(SAMPLE_MAIL, letters, strict=False):
            raw, recipients = make(letter)
            response = mail_ingest(raw=raw, envelope_recipients=recipients)
            kinds.append(response.kind if response else "ignored")
        return "responses: " + _counts(kinds)

    def remediate(self) -> str:
        from letters.remediation import letters_due, letters_remediate
        from letters.tasks import letters_remediate_task

        fixed = self.fix_some_relays()
        # The deadline is today and the re-probe runs as if it were tomorrow.
        self.campaign.remediation_deadline = timezone.localdate()
        self.campaign.save(update_fields=["remediation_deadline"])
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        due = letters_due(today=tomorrow).filter(campaign=self.campaign)
        due = list(due.values_list("id", flat=True))
        if self.workers:
            outcomes = letters_remediate_task.delay(due).get(timeout=600)
        else:
            outcomes = letters_remediate(letter_ids=due)
        return f"{fixed} relays fixed in the lab; letter outcomes: {_counts(outcomes.values())}"

    def fix_some_relays(self) -> int:
        fixed = 0
        for n, net in enumerate(NETWORKS):
            opens = [h for h, b in enumerate(net.behaviours) if b == "open"][: net.fixes]
            for h in opens:
                self.lab.host_behaviour_set(self.lab_ips[simulated_ip(n, h)], "closed")
                fixed += 1
        return fixed


def _counts(values: Iterable[object]) -> str:
    tally = Counter(str(value) for value in values)
    return ", ".join(f"{k} {v}" for k, v in sorted(tally.items())) or "none"


# --- sample mail that comes back ---------------------------------------------
def _reply_fixed(letter: object) -> tuple[bytes, tuple[str, ...]]:
    msg = EmailMessage()
    msg["From"] = f"abuse@{letter.contact.email.split('@')[1]}"
    msg["To"] = f"relay+{letter.reply_token}@{letter.agency.reply_domain or 'agency.example'}"
    msg["Subject"] = "Re: open relay"
    msg["Message-ID"] = email.utils.make_msgid(domain="isp.example")
    msg["In-Reply-To"] = letter.message_id or ""
    msg.set_content("Thank you. We closed the relay on our server yesterday; please check again.")
    return bytes(msg), ()


def _bounce(letter: object) -> tuple[bytes, tuple[str, ...]]:
    """An RFC 3464 delivery status notification, as Postfix writes one."""
    verp = f"bounces+{letter.reply_token}@{letter.agency.reply_domain or 'agency.example'}"
    rcpt = letter.contact.email
    raw = DSN_TEMPLATE.format(
        verp=verp, rcpt=rcpt, msgid=email.utils.make_msgid(domain="mx.example")
    )
    return raw.replace("\n", "\r\n").encode(), (verp,)


DSN_TEMPLATE = """From: MAILER-DAEMON@mx.isp.example
To: {verp}
Subject: Undelivered Mail Returned to Sender
Message-ID: {msgid}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

<{rcpt}>: host mx.isp.example said: 550 5.1.1 User unknown

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.isp.example

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--b1--
"""


def _auto_reply(letter: object) -> tuple[bytes, tuple[str, ...]]:
    msg = EmailMessage()
    msg["From"] = letter.contact.email
    msg["To"] = f"relay+{letter.reply_token}@{letter.agency.reply_domain or 'agency.example'}"
    msg["Subject"] = "Automatic reply: out of office"
    msg["Auto-Submitted"] = "auto-replied"
    msg["Message-ID"] = email.utils.make_msgid(domain="isp.example")
    msg.set_content("I am out of the office until Monday.")
    return bytes(msg), ()


SAMPLE_MAIL = (_reply_fixed, _bounce, _auto_reply, _reply_fixed)


def campaign_summary(campaign_slug: str) -> list[tuple[str, int]]:
    from letters.models import Letter, Response
    from outreach.models import Campaign

    campaign = Campaign.objects.get(slug=campaign_slug)
    hosts = campaign.hosts.values("status").annotate(n=Count("id"))
    rows = [(f"hosts {row['status']}", row["n"]) for row in hosts.order_by("status")]
    letters = Letter.objects.filter(campaign=campaign).values("status").annotate(n=Count("id"))
    rows += [(f"letters {row['status']}", row["n"]) for row in letters.order_by("status")]
    rows.append(("responses", Response.objects.filter(letter__campaign=campaign).count()))
    return rows
