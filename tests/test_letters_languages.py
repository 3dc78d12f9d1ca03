from __future__ import annotations

from letters.languages import COUNTRY_LANGUAGE, is_rtl, language_choose, supported_languages


def test_it_prefers_the_contacts_override():
    choice = language_choose(override="de", country="BR", agency_default="fr", agency_code="x")
    assert (choice.language, choice.reason) == ("de", "contact")


def test_it_uses_the_networks_country_next():
    choice = language_choose(override="", country="br", agency_default="fr", agency_code="x")
    assert (choice.language, choice.reason) == ("pt", "country:BR")
    assert language_choose(country="CL").language == "es"
    assert language_choose(country="JP").language == "ja"


def test_it_falls_back_to_the_agency_then_english():
    choice = language_choose(country="BE", agency_default="nl", agency_code="belgium")
    assert (choice.language, choice.reason) == ("nl", "agency:belgium")
    assert language_choose(country="ZZ", agency_default="xx") == language_choose()
    assert language_choose().language == "en"
    assert language_choose().reason == "default"


def test_it_ignores_an_override_that_is_not_a_letter_language():
    assert language_choose(override="tlh", country="FR").language == "fr"


def test_it_maps_countries_only_to_letter_languages():
    assert set(COUNTRY_LANGUAGE.values()) <= supported_languages()


def test_it_knows_which_languages_run_right_to_left():
    assert is_rtl("ar") and is_rtl("he")
    assert not is_rtl("en") and not is_rtl("zh-hans")
