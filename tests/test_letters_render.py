from __future__ import annotations

import pytest
from django.conf import settings
from django.template import TemplateDoesNotExist

from letters import compose
from letters.compose import letter_compose
from letters.render import letter_set_render
from tests.factories import AgencyFactory, CampaignFactory, ContactFactory
from tests.letters_helpers import compiled_catalogs, letter_with_relays  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]

# The salutation and one word of the subject, per language, written here
# independently of the catalogs so a broken catalog fails the test.
EXPECTED = {
    "en": ("Dear network administrator,", "notice"),
    "fr": ("Madame, Monsieur,", "relais"),
    "es": ("Estimado administrador de red:", "retransmisión"),
    "pt": ("Caro administrador de rede,", "retransmissão"),
    "de": ("Sehr geehrte Damen und Herren,", "Mail-Relay"),
    "it": ("Gentile amministratore di rete,", "open relay"),
    "nl": ("Geachte netwerkbeheerder,", "mailrelay"),
    "pl": ("Szanowni Państwo,", "przekaźniku"),
    "ru": ("Уважаемый администратор сети!", "релее"),
    "uk": ("Шановний адміністраторе мережі!", "ретранслятор"),
    "tr": ("Sayın ağ yöneticisi,", "aktarıcısı"),  # noqa: RUF001 - Turkish dotless i
    "ar": ("حضرة مدير الشبكة المحترم،", "الترحيل"),
    "he": ("לכבוד מנהל הרשת,", "ממסר"),
    "ja": ("ネットワーク管理者様", "オープンメールリレー"),
    "zh-hans": ("尊敬的网络管理员:", "开放邮件中继"),
    "ko": ("네트워크 관리자님께", "오픈 메일 릴레이"),
    "vi": ("Kính gửi quản trị viên mạng,", "chuyển tiếp"),
    "id": ("Yth. Administrator Jaringan,", "open mail relay"),
    "th": ("เรียน ผู้ดูแลระบบเครือข่าย", "รีเลย์"),
    "sv": ("Till nätverksadministratören,", "e-postrelä"),
    "el": ("Αξιότιμε διαχειριστή δικτύου,", "αναμεταδότη"),
    "ro": ("Stimate administrator de rețea,", "releu"),
    "cs": ("Vážený správce sítě,", "relé"),
}


def test_it_covers_every_letter_language():
    assert set(EXPECTED) == {code for code, _name in settings.LANGUAGES}
    assert len(EXPECTED) >= 21


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_it_renders_every_part_in_the_letters_language(language):
    letter = letter_with_relays(language=language)
    rendered = letter_compose(letter)
    salutation, subject_word = EXPECTED[language]
    assert rendered.language == language
    assert subject_word in rendered.subject
    assert letter.agency.name in rendered.subject
    assert salutation in rendered.text
    assert salutation in rendered.html
    assert salutation in rendered.print_html
    assert f'lang="{language}"' in rendered.print_html
    assert letter.hosts.get().ip in rendered.text
    parts = (rendered.subject, rendered.text, rendered.html, rendered.print_html)
    assert not any("INVALID_TEMPLATE_VARIABLE" in part for part in parts)


def test_it_renders_another_language_when_asked():
    letter = letter_with_relays(language="en")
    assert "Madame, Monsieur," in letter_compose(letter, language="fr").text
    assert letter_compose(letter).language == "en"


def test_it_follows_the_french_reference_letter():
    text = letter_compose(letter_with_relays(language="fr")).text
    assert "Diverses bases de données publiques semblent indiquer que l'adresse IP suivante" in text
    assert "votre fournisseur d'accès à Internet peut cesser de vous procurer le service" in text


def test_it_uses_the_plural_for_several_relays():
    one = letter_compose(letter_with_relays(hosts=1, language="ru"))
    two = letter_compose(letter_with_relays(hosts=2, language="ru"))
    five = letter_compose(letter_with_relays(hosts=5, language="ru"))
    assert one.subject.endswith("(1 IP-адрес)")
    assert two.subject.endswith("(2 IP-адреса)")
    assert five.subject.endswith("(5 IP-адресов)")
    assert "следующий IP-адрес" in one.text and "следующие IP-адреса" in two.text


def test_it_lists_every_relay_with_verdict_and_date():
    letter = letter_with_relays(hosts=3)
    rendered = letter_compose(letter)
    for host in letter.hosts.all():
        probe = host.probes.get()
        assert host.ip in rendered.html
        assert probe.finished_at.strftime("%Y-%m-%d %H:%M") in rendered.html
    assert rendered.html.count("Open relay confirmed") == 3


def test_it_quotes_the_probe_transcript_in_print_only():
    letter = letter_with_relays(transcript="S: 250 2.1.5 Recipient ok\n")
    rendered = letter_compose(letter)
    assert "250 2.1.5 Recipient ok" in rendered.print_html
    assert "250 2.1.5 Recipient ok" not in rendered.text


def test_it_names_the_partner_agencies():
    campaign = CampaignFactory(lead_agency__country="US")
    campaign.partners.add(
        AgencyFactory(name="SERNAC", country="CL"),
        AgencyFactory(name="Industry Canada", country="CA"),
        AgencyFactory(name="Postal Inspection Service", country="US"),
    )
    rendered = letter_compose(letter_with_relays(campaign=campaign))
    assert (
        "In this effort, you can count on our national partners such as "
        "Postal Inspection Service. From the international community, joining us: "
        "Industry Canada; and SERNAC."
    ) in " ".join(rendered.text.split())
    alone = letter_compose(letter_with_relays())
    assert "with its partners" not in alone.text


def test_it_shows_the_online_line_only_with_a_recipient_url(monkeypatch, settings):
    letter = letter_with_relays()
    # No public URL, no link (the recipient page's tests cover the real one).
    settings.OUTREACH_PUBLIC_URL = ""
    assert "answer online" not in letter_compose(letter).html
    monkeypatch.setattr(compose, "recipient_url_for", lambda letter: "https://agency.example/r/x")
    rendered = letter_compose(letter)
    assert "See the evidence and answer online: https://agency.example/r/x" in rendered.text
    assert "https://agency.example/r/x" in rendered.html


def test_it_escapes_hostile_strings():
    hostile = '<img src=x onerror=alert(1)>url(file:///etc/passwd)"'
    contact = ContactFactory(organisation=hostile)
    letter = letter_with_relays(contact=contact, transcript="S: 220 <script>alert(1)</script>\n")
    letter.agency.name = "<b>Agency</b>"
    letter.agency.save()
    rendered = letter_compose(letter)
    for html in (rendered.html, rendered.print_html):
        assert "<img src=x" not in html and "<script>" not in html and "<b>Agency" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered.print_html


def test_it_bounds_very_long_strings():
    transcript = "\n".join(f"S: 250-{n} " + "A" * 10_000 for n in range(100))
    rendered = letter_compose(letter_with_relays(transcript=transcript))
    assert "A" * 200 not in rendered.print_html
    assert "S: 250-11 " in rendered.print_html and "S: 250-12 " not in rendered.print_html


def test_it_fails_on_a_missing_template_variable():
    context = {"agency": {"name": "X"}, "count": 1}
    rendered = letter_set_render(kind="open_relay", context=context, language="en")
    assert "INVALID_TEMPLATE_VARIABLE" in rendered.html


def test_it_refuses_a_kind_that_is_not_a_template_set():
    with pytest.raises(ValueError, match="Not a letter kind"):
        letter_set_render(kind="../admin", context={}, language="en")
    with pytest.raises(TemplateDoesNotExist):
        letter_set_render(kind="nonexistent", context={}, language="en")


def test_it_inlines_the_agency_logo_as_data_uri():
    from django.core.files.base import ContentFile

    letter = letter_with_relays()
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    letter.agency.logo.save("logo.png", ContentFile(png))
    assert 'src="data:image/png;base64,' in letter_compose(letter).print_html


def test_it_keeps_the_subject_on_one_line():
    letter = letter_with_relays()
    letter.agency.name = "Agency\r\nBcc: victim@isp.example"
    letter.agency.save()
    subject = letter_compose(letter).subject
    assert "\n" not in subject and "\r" not in subject
