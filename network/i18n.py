"""Language selection: German first, English second."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, has_request_context, request, session
from flask_login import current_user

__all__ = ["select_locale", "current_language", "compile_catalogues"]


def select_locale() -> str:
    """The user's chosen language, else the session's, else the browser's best match, else German."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI, scheduler and background threads: German by default
        return languages[0]
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.language in languages:
            return current_user.language
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def current_language() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return locale.language if locale else "de"


TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def _catalogue_parts(language: str) -> list[Path]:
    return sorted((TRANSLATIONS / language / "LC_MESSAGES" / "parts").glob("*.po"))


def compile_catalogues(force: bool = False) -> list[Path]:
    """Merge each language's ``parts/*.po`` into ``messages.mo`` when a part is newer.

    The English strings of each area live in their own ``parts/<area>.po`` (German is the source
    language, so it needs no catalogue); merging at start-up keeps the compiled file in step
    without a build step before ``flask run`` or gunicorn.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for language_dir in sorted(p for p in TRANSLATIONS.iterdir() if p.is_dir()):
        parts = _catalogue_parts(language_dir.name)
        target = language_dir / "LC_MESSAGES" / "messages.mo"
        if not parts:
            continue
        newest = max(p.stat().st_mtime for p in parts)
        if not force and target.exists() and target.stat().st_mtime >= newest:
            continue
        merged = Catalog(locale=language_dir.name)
        for part in parts:
            with part.open("rb") as handle:
                for message in read_po(handle, locale=language_dir.name):
                    if message.id and message.string and not message.fuzzy:
                        merged.add(message.id, message.string)
        tmp = target.with_suffix(".mo.tmp")
        with tmp.open("wb") as handle:
            write_mo(handle, merged)
        tmp.replace(target)
        written.append(target)
    return written
