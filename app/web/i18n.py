"""User-facing text in Simplified Chinese (default) and English.

The words live in `messages.toml` beside this module, one table per key with its text in each
language; this module reads them once and looks them up."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

LANGS = ("zh-CN", "en")
#: the catalogue: `["key"]` tables with a `zh-CN` and an `en` text each
MESSAGES = Path(__file__).with_name("messages.toml")


def load_catalog(path: Path = MESSAGES) -> dict[str, dict[str, str]]:
    """The texts in `path` per language: ``{lang: {key: text}}``, in the file's order."""
    with path.open("rb") as file:
        entries: dict[str, dict[str, str]] = tomllib.load(file)
    catalog: dict[str, dict[str, str]] = {lang: {} for lang in LANGS}
    for key, texts in entries.items():
        for lang, text in texts.items():
            catalog[lang][key] = text
    return catalog


CATALOG: Mapping[str, Mapping[str, str]] = load_catalog()


def pick_lang(requested: str | None, default: str = "zh-CN") -> str:
    """The best supported language for an `Accept-Language` value or a `lang` parameter."""
    if requested:
        for part in requested.split(","):
            tag = part.split(";")[0].strip().lower()
            if tag.startswith("zh"):
                return "zh-CN"
            if tag.startswith("en"):
                return "en"
    return default


def tf(key: str, lang: str, params: Mapping[str, object]) -> str:
    """Translate `key` and fill its `{placeholders}` (a missing one shows itself)."""
    text = t(key, lang)
    try:
        return text.format_map(dict(params))
    except (KeyError, IndexError, ValueError):
        return text


def t(key: str, lang: str) -> str:
    """Translate `key`; an unknown key shows itself, never a crash."""
    return CATALOG.get(lang, CATALOG["zh-CN"]).get(key, CATALOG["zh-CN"].get(key, key))
