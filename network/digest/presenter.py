"""Words for a digest: turns :class:`~network.digest.content.Digest` sections into lines.

One :class:`Presenter` per language translates its phrases once (not once per recipient), and
formats numbers and dates without a round trip through the request's locale. The mail's text
and HTML parts and the coordinators' preview all show the same lines. A
:class:`MailRenderer` renders the digest templates with those phrases (the templates hold no
``_()``): rendering ten thousand digests must not cost a locale lookup per string.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Flask
from flask_babel import force_locale, gettext
from markupsafe import Markup

from network import vocabulary
from network.digest.content import Digest, Section

__all__ = ["Line", "PresentedSection", "Presenter", "MailRenderer", "format_number"]

LOCAL_TZ = ZoneInfo("Europe/Berlin")
BODY_EXCERPT = 280


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    detail: str = ""
    href: str = ""


@dataclass(frozen=True, slots=True)
class PresentedSection:
    key: str
    title: str
    intro: str
    lines: tuple[Line, ...]
    total: int
    more: int
    more_text: str
    link: str
    all_text: str


def format_number(value: float | int | None, digits: int = 0, language: str = "de") -> str:
    """``1.234,5`` in German, ``1,234.5`` in English (what Babel gives, without its cost).

    Examples
    --------
    >>> format_number(1234.56, 1, "de"), format_number(1234.56, 1, "en"), format_number(None)
    ('1.234,6', '1,234.6', '–')
    """
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if language == "de":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


class Presenter:
    """Phrases and formats of one language; build it inside an app context."""

    def __init__(self, language: str) -> None:
        self.language = language
        with force_locale(language):
            self.titles = {
                "suggestions": gettext("Vorschläge zur Prüfung"),
                "organisations": gettext("Neue Organisationen"),
                "collaborations": gettext("Neue Kooperationen"),
                "figures": gettext("Das Netzwerk in Zahlen"),
                "introductions": gettext("Angenommene Vorschläge: neue Kontakte"),
                "applications": gettext("Neue Bewerbungen"),
                "nearby": gettext("Neu in Ihrer Nähe"),
                "positions": gettext("Neue passende Stellen"),
                "application_updates": gettext("Neues zu Ihren Bewerbungen"),
                "announcements": gettext("Termine und Ankündigungen"),
            }
            # Unformatted templates: gettext without arguments leaves the placeholders.
            self.suggestions_intro = gettext(
                "%(new)s neue Vorschläge; insgesamt warten %(total)s auf Ihre Prüfung."
            )
            self.nearby_intro = gettext(
                "Neue Organisationen im Umkreis von 25 km, die anbieten, was Sie suchen."
            )
            self.figures_intro = gettext(
                "Veränderungen seit der letzten Zusammenfassung (in Klammern: die Veränderung im Zeitraum davor)."
            )
            self.fit = gettext("Passung %(score)s %%")
            self.across = gettext("gemeindeübergreifend")
            self.organisations = gettext("Organisationen")
            self.collaborations = gettext("Aktive Kooperationen")
            self.share = gettext("Anteil gemeindeübergreifender Kooperationen")
            self.points = gettext("Prozentpunkte")
            self.before = gettext("davor")
            self.application = gettext("%(name)s für „%(title)s“")
            self.an_application = gettext("Eine Bewerbung")
            self.distance = gettext("%(km)s km von %(own)s")
            self.offers = gettext("bietet")
            self.from_search = gettext("aus Ihrer Suche „%(name)s“")
            self.update = gettext("„%(title)s“ (%(organisation)s): %(status)s")
            self.more = gettext("… und %(count)s weitere")
            self.see_all = gettext("Alles ansehen")
            self._hello = gettext("Hallo %(name)s,")
            self._intro_text = gettext(
                "das ist neu auf der Plattform der Gesundheitsregion Münsterland seit %(since)s:"
            )
            self._frame = {
                "brand": gettext("Gesundheitsregion Münsterland"),
                "title": gettext("Ihre Zusammenfassung"),
                "to_platform": gettext("Zur Plattform"),
                "settings": gettext("Häufigkeit und Sprache einstellen"),
                "unsubscribe": gettext("Zusammenfassung abbestellen"),
                "unsubscribe_one_click": gettext(
                    "Zusammenfassung abbestellen (ein Klick, ohne Anmeldung)"
                ),
                "reason": gettext(
                    "Sie erhalten diese Zusammenfassung, weil Sie auf der Plattform der "
                    "Gesundheitsregion Münsterland registriert sind."
                ),
            }
            self.subject_one = gettext("Gesundheitsregion Münsterland: eine Neuigkeit für Sie")
            self.subject_many = gettext(
                "Gesundheitsregion Münsterland: %(num)d Neuigkeiten für Sie"
            )

    def frame(self, name: str, since: datetime) -> dict[str, str]:
        """The mail's fixed phrases around the sections, for one recipient."""
        return {
            **self._frame,
            "hello": self._hello % {"name": name},
            "intro": self._intro_text % {"since": self.datetime(since)},
        }

    def subject(self, count: int) -> str:
        """The mail's subject line for ``count`` news."""
        return self.subject_one if count == 1 else self.subject_many % {"num": count}

    # formats ---------------------------------------------------------------

    def number(self, value: float | int | None, digits: int = 0) -> str:
        return format_number(value, digits, self.language)

    def signed(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        text = self.number(value, digits)
        return f"+{text}" if value > 0 else text

    def date(self, value: date | None) -> str:
        return _format_date(value, self.language) if value else ""

    def datetime(self, value: datetime | None) -> str:
        return (
            _format_datetime(value.replace(second=0, microsecond=0), self.language) if value else ""
        )

    def label(self, vocabulary_name: str, code: str | None) -> str:
        return vocabulary.label(getattr(vocabulary, vocabulary_name), code, self.language)

    # sections --------------------------------------------------------------

    def sections(self, digest: Digest) -> list[PresentedSection]:
        return [self._section(section) for section in digest.sections]

    def _section(self, section: Section) -> PresentedSection:
        describe = getattr(self, f"_{section.key}")
        return PresentedSection(
            key=section.key,
            title=self.titles.get(section.key, section.key),
            intro=self._intro(section),
            lines=tuple(describe(item) for item in section.items),
            total=section.total,
            more=section.more,
            more_text=self.more % {"count": self.number(section.more)},
            link=section.link,
            all_text=self.see_all,
        )

    def _intro(self, section: Section) -> str:
        if section.key == "suggestions":
            return self.suggestions_intro % {
                "new": self.number(section.total),
                "total": self.number(section.extra.get("open_total", section.total)),
            }
        if section.key == "nearby":
            return self.nearby_intro
        if section.key == "figures":
            return self.figures_intro
        return ""

    def _suggestions(self, item: Any) -> Line:
        fit = self.fit % {"score": self.number(item.score * 100)}
        return Line(
            f"{item.org_a_name} ↔ {item.org_b_name} ({fit})", "; ".join(item.reasons), item.url
        )

    def _organisations(self, item: Any) -> Line:
        kind = self.label("ORGANISATION_KINDS", item.kind)
        place = f", {item.municipality}" if item.municipality else ""
        return Line(f"{item.name} ({kind}{place})", "", item.url)

    def _collaborations(self, item: Any) -> Line:
        kind = self.label("COLLABORATION_KINDS", item.kind)
        across = f" ({self.across})" if item.cross_municipal else ""
        return Line(f"{item.org_a_name} – {item.org_b_name}: {kind}{across}", "", item.url)

    def _figures(self, item: Any) -> Line:
        before = f"{self.before} {self.signed(item.previous_change, 1 if item.key == 'cross_municipal_share' else 0)}"
        if item.key == "organisations":
            return Line(
                f"{self.organisations}: {self.number(item.now)} ({self.signed(item.change)}; {before})"
            )
        if item.key == "collaborations":
            return Line(
                f"{self.collaborations}: {self.number(item.now)} ({self.signed(item.change)}; {before})"
            )
        return Line(
            f"{self.share}: {self.number(item.now, 1)} % ({self.signed(item.change, 1)} {self.points}; {before})"
        )

    def _introductions(self, item: Any) -> Line:
        return Line(f"{item.own_name} ↔ {item.partner_name}", "", item.suggestion.url)

    def _applications(self, item: Any) -> Line:
        text = self.application % {
            "name": item.applicant_name or self.an_application,
            "title": item.position_title,
        }
        return Line(f"{text} ({item.organisation_name})", "", item.url)

    def _nearby(self, item: Any) -> Line:
        organisation = item.organisation
        distance = self.distance % {"km": self.number(item.distance_km, 1), "own": item.near}
        offers = ", ".join(self.label("TAGS", tag) for tag in item.matching_offers)
        return Line(
            f"{organisation.name}, {organisation.municipality}: {distance}",
            f"{self.offers}: {offers}",
            organisation.url,
        )

    def _positions(self, item: Any) -> Line:
        place = f", {item.municipality}" if item.municipality else ""
        detail = self.from_search % {"name": item.search_name} if item.search_name else ""
        return Line(f"{item.title} – {item.organisation_name}{place}", detail, item.url)

    def _application_updates(self, item: Any) -> Line:
        status = self.label("APPLICATION_STATUSES", item.status)
        return Line(
            self.update
            % {
                "title": item.position_title,
                "organisation": item.organisation_name,
                "status": status,
            },
            "",
            item.url,
        )

    def _announcements(self, item: Any) -> Line:
        text = item.title
        if item.event_date:
            text += f" – {self.date(item.event_date)}"
        if item.location:
            text += f", {item.location}"
        body = (
            item.body
            if len(item.body) <= BODY_EXCERPT
            else item.body[: BODY_EXCERPT - 1].rsplit(" ", 1)[0] + " …"
        )
        return Line(text, body, item.url)


@functools.lru_cache(maxsize=2048)
def _format_date(value: date, language: str) -> str:
    return format_date(value, "medium", locale=language)


@functools.lru_cache(maxsize=2048)
def _format_datetime(value: datetime, language: str) -> str:
    return format_datetime(value.astimezone(LOCAL_TZ), "short", locale=language)


class MailRenderer:
    """Renders a digest's text and HTML parts with a :class:`Presenter` per language.

    The digest templates hold no ``_()``: the presenter hands them translated phrases, so the
    app's own environment renders them for every language alike. Each distinct shared section
    is rendered once per run and language (``_section.txt`` and ``.html``) and reused: the
    announcements and the coordinators' sections are the same for many recipients.
    """

    TEMPLATES = (
        "email/digest/digest.txt",
        "email/digest/digest.html",
        "email/digest/_section.txt",
        "email/digest/_section.html",
    )
    MAX_CACHED_SECTIONS = 5000
    #: Sections that are the same for many recipients; personal ones are not worth keeping.
    SHARED_SECTIONS = frozenset(
        {"announcements", "suggestions", "organisations", "collaborations", "figures"}
    )

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._presenters: dict[str, Presenter] = {}
        self._templates: tuple[Any, ...] = ()
        self._sections: dict[tuple[str, PresentedSection], tuple[str, Markup]] = {}

    def presenter(self, language: str) -> Presenter:
        if language not in self._presenters:
            self._presenters[language] = Presenter(language)
        return self._presenters[language]

    def _templates_all(self) -> tuple[Any, ...]:
        if not self._templates:
            self._templates = tuple(
                self.app.jinja_env.get_template(name) for name in self.TEMPLATES
            )
        return self._templates

    def _section(self, language: str, section: PresentedSection) -> tuple[str, Markup]:
        key = (language, section)
        rendered = self._sections.get(key)
        if rendered is None:
            templates = self._templates_all()
            rendered = (
                templates[2].render(section=section),
                Markup(templates[3].render(section=section)),
            )
            if (
                section.key in self.SHARED_SECTIONS
                and len(self._sections) < self.MAX_CACHED_SECTIONS
            ):
                self._sections[key] = rendered
        return rendered

    def render(self, digest: Digest, *, name: str, **links: str) -> tuple[str, str]:
        """``(text, html)`` of ``digest`` in its recipient's language, greeting ``name``;
        ``links``: ``platform_url``, ``settings_url``, ``unsubscribe_url``."""
        language = digest.recipient.language
        presenter = self.presenter(language)
        parts = [self._section(language, section) for section in presenter.sections(digest)]
        values = {
            "lang": language,
            "frame": presenter.frame(name, digest.since),
            "section_texts": [text for text, _html in parts],
            "section_htmls": [html for _text, html in parts],
            **links,
        }
        templates = self._templates_all()
        return templates[0].render(values), templates[1].render(values)
