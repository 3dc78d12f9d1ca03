"""Agencies in the letter's own words: introductions, partners grouped as the
customer's reference letter groups them, fallbacks, order, and names isolated
in right-to-left and CJK letters."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from django.utils import translation

from letters.agency_texts import agency_words_for
from letters.approval import recipient_link_issue
from letters.build import letters_build
from letters.compose import letter_compose, letter_pdf
from letters.partners import (
    FSI,
    PDI,
    AgencyWords,
    Fallback,
    letter_words,
    partner_items,
    partners_html,
    partners_text,
    words_choose,
)
from outreach.models import Agency, AgencyText, Host, PartnerRank
from outreach.services import agencies_seed, campaign_demo_ensure
from tests.factories import AgencyFactory, CampaignFactory, ContactFactory
from tests.letters_helpers import compiled_catalogs, letter_with_relays  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]

REFERENCE = Path(__file__).parent / "fixtures" / "reference" / "ftc-open-relay-letter-fr.txt"


def words(code: str, country: str = "US", language: str = "fr", **fields) -> AgencyWords:
    fields.setdefault("name", code.upper())
    return AgencyWords(code=code, country=country, language=language, **fields)


def ag(code: str, member: str, language: str = "fr") -> AgencyWords:
    return words(
        code,
        language=language,
        group="us-state-ag",
        group_phrase="les Attorneys General des états {members}",
        group_member=member,
    )


# --- pure: grouping, fallback, isolation --------------------------------------------


def test_it_names_a_group_once_where_its_first_member_stands():
    partners = [ag("ar", "de l'Arkansas"), words("uspis"), ag("tx", "du Texas")]
    with translation.override("fr"):
        text = partners_text(partners, rtl=False)
    assert text == "les Attorneys General des états de l'Arkansas et du Texas ; et USPIS"


def test_it_names_a_lone_group_member_by_its_own_name():
    items = partner_items([ag("ar", "de l'Arkansas"), words("uspis")])
    assert [item.phrase for item in items] == ["AR", "USPIS"]


def test_it_names_a_fallback_by_its_bare_name_and_never_groups_it():
    fallback = replace(ag("la", "Louisiana", language="en"), in_list="the AG", fallback=True)
    partners = [ag("ar", "de l'Arkansas"), fallback, ag("tx", "du Texas"), words("ic")]
    items = partner_items(partners)
    assert [item.phrase for item in items] == [
        "les Attorneys General des états {members}",
        "LA",
        "IC",
    ]
    assert items[0].members == ("de l'Arkansas", "du Texas")


def test_it_splits_national_and_international_partners_by_the_signers_country():
    signing = words("ftc", introduction="Intro.", subject="La Commission")
    partners = [words("uspis"), words("ic", country="CA"), words("sec")]
    with translation.override("fr"):
        result = letter_words(signing, partners, rtl=False)
    assert result.national == "USPIS ; et SEC"
    assert result.international == "IC"
    assert result.subject == "La Commission"


def test_it_falls_back_to_the_default_language_then_english_then_the_own_name():
    own = words("ic", language="", country="CA")
    texts = {"en": words("ic", language="en"), "es": words("ic", language="es")}
    assert words_choose(texts, language="fr", default_language="es", own=own) == (
        replace(texts["es"], fallback=True),
        Fallback("ic", "fr", "es"),
    )
    assert words_choose(texts, language="fr", default_language="de", own=own)[1] == Fallback(
        "ic", "fr", "en"
    )
    assert words_choose({}, language="fr", default_language="de", own=own) == (
        replace(own, fallback=True),
        Fallback("ic", "fr", ""),
    )
    assert words_choose(texts, language="en", default_language="es", own=own)[1] is None


def test_it_isolates_names_in_right_to_left_text_and_escapes_them_in_html():
    partners = [words("x", name="<b>Evil</b> & Co")]
    assert partners_text(partners, rtl=True) == f"{FSI}<b>Evil</b> & Co{PDI}"
    assert str(partners_html(partners)) == "<bdi>&lt;b&gt;Evil&lt;/b&gt; &amp; Co</bdi>"


# --- the reference letter, paragraph by paragraph --------------------------------------


def reference_paragraphs() -> list[str]:
    text = REFERENCE.read_text(encoding="utf-8")
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def demo_letter(language: str):
    agencies_seed()
    campaign = campaign_demo_ensure()
    ftc = campaign.lead_agency
    contact = ContactFactory(agency=ftc)
    return letter_with_relays(campaign=campaign, contact=contact, language=language, agency=ftc)


def sentence_items(sentence: str) -> list[str]:
    # The reference separates partners with "; " and once with ", "; compare
    # the partners themselves, in order, not the punctuation between them.
    body = re.split(r" tels que | nous : ", sentence, maxsplit=1)[1].rstrip(".")
    return [item for item in re.split(r"\s*;\s*(?:et\s+)?|, (?=le |la |l')", body) if item]


def test_the_french_letter_follows_the_reference_letter_paragraph_by_paragraph():
    letter = demo_letter("fr")
    assert letter.agency.code == "ftc"
    ours = " ".join(letter_compose(letter).text.split())
    reference = reference_paragraphs()
    relays, agencies = reference[2], reference[3]
    # What a relay is, and the harms, word for word; our catalog corrects the
    # reference's one anglicism ("connections" is "connexions" in French).
    assert relays.replace("vos connections", "vos connexions") in ours
    intro = (
        "La Federal Trade Commission est une agence gouvernementale américaine qui est chargée "
        "de protéger les consommateurs contre les usages illicites, trompeurs et déloyaux."
    )
    assert intro in agencies and intro in ours
    sending = agencies.split(". ")[1] + "."
    assert sending.startswith("La Commission, avec ses partenaires") and sending in ours
    ref_national, ref_international = group_sentences(agencies)
    our_national, our_international = group_sentences(ours.split("Pour tout renseignement")[0])
    assert sentence_items(our_national) == sentence_items(ref_national)
    assert sentence_items(our_international) == sentence_items(ref_international)
    assert our_national.split(" tels que ")[0] == ref_national.split(" tels que ")[0]
    assert our_international.split(" : ")[0] == ref_international.split(" : ")[0]


def group_sentences(paragraph: str) -> tuple[str, str]:
    """The national and the international partners' sentences of the agencies' paragraph."""
    national = "Dans cet effort" + paragraph.split("Dans cet effort", 1)[1]
    national, international = national.split(" Venus de", 1)
    return national, "Venus de" + international.strip()


def test_the_groups_follow_the_reference_order_and_wording():
    national = sentence_items(group_sentences(reference_paragraphs()[3])[0])
    assert national[0].startswith("les Attorneys General des états de l'Arkansas, de la")
    assert national[-1] == "le département de la Police du Texas (Richardson)"


# --- order, fallbacks on the letter, seed --------------------------------------------


def test_the_campaign_rank_orders_the_partners_before_the_default_order():
    agencies_seed()
    campaign = campaign_demo_ensure()
    ftc = Agency.objects.get(code="ftc")
    PartnerRank.objects.create(campaign=campaign, agency=Agency.objects.get(code="ic"), rank=1)
    _signing, partners, _fallbacks = agency_words_for(campaign=campaign, agency=ftc, language="fr")
    codes = [p.code for p in partners]
    assert codes[0] == "ic"
    assert codes[1:5] == ["ar-ag", "la-ag", "nm-ag", "ok-ag"]  # then the reference's order


def test_agencies_outside_the_seed_come_last_in_alphabetical_order():
    campaign = CampaignFactory()
    campaign.partners.add(AgencyFactory(name="Zeta Office"), AgencyFactory(name="Alpha Office"))
    _s, partners, _f = agency_words_for(
        campaign=campaign, agency=campaign.lead_agency, language="en"
    )
    assert [p.name for p in partners] == ["Alpha Office", "Zeta Office"]


def test_the_letter_records_each_agency_text_it_had_to_fall_back_on():
    agencies_seed()
    campaign = campaign_demo_ensure()
    contact = ContactFactory(agency=None, language="ko")
    host = letter_with_relays(campaign=campaign, contact=contact).hosts.get()
    Host.objects.filter(pk=host.pk).update(status=Host.Status.OPEN_RELAY)
    letter = contact.letters.get()
    letter.delete()
    letters_build(campaign_id=campaign.pk)
    letter = contact.letters.get()
    assert letter.language == "ko"
    fallbacks = {f["agency"]: f for f in letter.text_fallbacks}
    assert fallbacks["ftc"] == {"agency": "ftc", "wanted": "ko", "used": "en"}
    assert fallbacks["sernac"]["used"] == "es"  # SERNAC's own language before English


def test_the_seed_loads_english_and_french_for_all_fourteen_agencies_and_keeps_reviews():
    agencies_seed()
    for language in ("en", "fr"):
        assert AgencyText.objects.filter(language=language).count() == 14
    assert not AgencyText.objects.filter(language="en", status="reviewed").exists()
    assert AgencyText.objects.filter(language="fr", status="reviewed").count() == 14
    text = AgencyText.objects.get(agency__code="ftc", language="de")
    text.introduction, text.status = "Geprüft.", AgencyText.Status.REVIEWED
    text.save()
    agencies_seed()
    assert AgencyText.objects.get(pk=text.pk).introduction == "Geprüft."


# --- right to left and CJK, through the PDF ------------------------------------------

ISOLATES = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u200e\u200f"))


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return " ".join(out.translate(ISOLATES).split())


@pytest.mark.parametrize(
    ("language", "readable"),
    [
        # No Arabic texts for the partners: their English names fall back,
        # isolated, and must come back whole and in order.
        ("ar", ["Industry Canada", "United States Postal Inspection Service"]),
        ("ja", ["カナダ産業省", "米国郵便検査局", "アーカンソー・ルイジアナ"]),
        ("zh-hans", ["Industry Canada", "United States Postal Inspection Service"]),
    ],
)
def test_partner_names_are_isolated_and_readable_in_rtl_and_cjk_letters(language, readable):
    letter = demo_letter(language)
    rendered = letter_compose(letter)
    assert "<bdi>" in rendered.print_html
    if language == "ar":
        assert f"{FSI}Industry Canada{PDI}" in rendered.text
    text = pdf_text(letter_pdf(letter))
    for name in readable:
        assert name in text, (name, text[:2000])


def test_the_agency_admin_shows_its_texts_and_which_languages_are_complete(admin_client):
    agencies_seed()
    ftc = Agency.objects.get(code="ftc")
    page = admin_client.get(f"/admin/outreach/agency/{ftc.pk}/change/").content.decode()
    assert "La Federal Trade Commission est une agence gouvernementale" in page
    assert "1 / 7 / 16 missing" in page
    listing = admin_client.get("/admin/outreach/agency/").content.decode()
    assert "1 / 7 / 16 missing" in listing


def test_the_campaign_admin_sets_the_partner_order(admin_client):
    agencies_seed()
    campaign = campaign_demo_ensure()
    page = admin_client.get(f"/admin/outreach/campaign/{campaign.pk}/change/")
    assert page.status_code == 200
    assert "Partner order in letters" in page.content.decode()


def test_the_recipient_link_reads_whole_and_clicks_in_an_arabic_letter(settings):
    import io as _io

    from pypdf import PdfReader

    settings.OUTREACH_PUBLIC_URL = "https://agency.example"
    letter = demo_letter("ar")
    recipient_link_issue(letter=letter)  # as approval does: a preview issues none
    rendered = letter_compose(letter)
    url = re.search(r"https://agency\.example/r/[^\s\u2069<\"]+", rendered.html).group()
    assert url.endswith("/")
    assert f'<a href="{url}" dir="ltr">\u2066{url}\u2069</a>' in rendered.html
    assert f"\u2066{url}\u2069" in rendered.text
    pdf = letter_pdf(letter)
    assert url in pdf_text(pdf)  # in one piece, the slash at its end
    links = [
        annotation.get_object()["/A"]["/URI"]
        for page in PdfReader(_io.BytesIO(pdf)).pages
        for annotation in page.get("/Annots") or []
        if "/A" in annotation.get_object()
    ]
    assert url in links
