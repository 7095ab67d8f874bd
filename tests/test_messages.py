"""The text catalogue (app/web/messages.toml): every text in both languages, alike in shape."""

import string

from app.web.i18n import CATALOG, LANGS, t, tf


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_exists_in_chinese_and_english() -> None:
    keys = {lang: set(CATALOG[lang]) for lang in LANGS}
    assert keys["zh-CN"] == keys["en"]
    assert all(text.strip() for lang in LANGS for text in CATALOG[lang].values())


def test_both_languages_fill_the_same_placeholders() -> None:
    zh, en = CATALOG["zh-CN"], CATALOG["en"]
    differ = [k for k in zh if _placeholders(zh[k]) != _placeholders(en[k])]
    assert differ == []


def test_an_unknown_key_or_language_falls_back_instead_of_failing() -> None:
    assert t("no.such.key", "en") == "no.such.key"
    assert t("kiosk.title", "fr") == CATALOG["zh-CN"]["kiosk.title"]
    assert tf("review.open_n", "en", {}) == CATALOG["en"]["review.open_n"]
    assert tf("review.open_n", "en", {"n": 3}) == "3 to review, oldest first"
