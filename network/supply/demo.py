"""Demo content of the supply area and the toolbox: a recommendation library drawn from the
KommKom topics, one campaign page per model region, and a few toolbox files written here.

Everything is marked as demo material. The examples are *Beispielansätze*: plausible
approaches, phrased generically; they state no facts about real municipalities. No planning
figures are invented: the supply view starts from the real published facts (``SupplyFact``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from network.extensions import db
from network.models import CampaignPage, Recommendation, ToolboxItem
from network.vocabulary import MODEL_REGIONS

__all__ = ["load", "RECOMMENDATIONS", "DEMO_NOTE"]

DEMO_NOTE = "Demomaterial der Plattform – Inhalte vor der Nutzung prüfen und anpassen."

#: (title, summary, body, topics, effort, actors, examples)
RECOMMENDATIONS: tuple[tuple[str, str, str, tuple[str, ...], str, str, str], ...] = (
    (
        "Ausbildungsverbund Pflege über Gemeindegrenzen",
        "Pflegeschulen, Kliniken, ambulante Dienste und Heime einer Region bilden gemeinsam aus und "
        "organisieren die Pflichteinsätze der generalistischen Pflegeausbildung untereinander.",
        "1. Alle Träger der praktischen Ausbildung und die Pflegeschulen an einen Tisch holen.\n\n"
        "2. Je Pflichteinsatz (stationäre Akut- und Langzeitpflege, ambulante Pflege, Pädiatrie, "
        "Psychiatrie) festhalten, wer wie viele Plätze anbietet und wer welche braucht.\n\n"
        "3. Kooperationsverträge nach einem gemeinsamen Muster schließen; eine Stelle koordiniert "
        "die Einsatzplanung für alle.\n\n"
        "4. Gemeinsam werben: ein Ausbildungsverbund mit Einsätzen in der Nähe ist ein Argument für "
        "Bewerberinnen und Bewerber.",
        ("nursing_recruitment", "networking"),
        "medium",
        "Pflegeschulen, Kliniken, ambulante Pflegedienste, stationäre Einrichtungen; Kommune oder Kreis moderiert",
        "Beispielansatz: Eine Modellregion aus mehreren kleinen Kommunen lädt die Einrichtungen "
        "zweimal im Jahr zu einer Einsatzplanungsrunde ein und hält die freien Plätze auf dieser "
        "Plattform aktuell.",
    ),
    (
        "Börse für Pflichteinsätze in der Pflegeausbildung",
        "Freie Plätze für Pflichteinsätze werden an einer Stelle sichtbar, damit Auszubildende nicht "
        "in weit entfernte Einrichtungen ausweichen müssen.",
        "Einrichtungen tragen ihre Praxiseinsätze als Angebot ein (Art des Einsatzes, Zeitraum, "
        "Plätze); Pflegeschulen suchen nach Einsatzart und Entfernung. Besonders knapp sind oft "
        "pädiatrische und psychiatrische Einsätze – hier lohnt die Suche über die Gemeindegrenze.",
        ("nursing_recruitment", "networking", "mobility"),
        "low",
        "Einrichtungen mit Praxiseinsätzen, Pflegeschulen, Netzwerkkoordination",
        "Beispielansatz: Eine Kommune ohne Kinderklinik vereinbart pädiatrische Einsätze mit einer "
        "Klinik im Nachbarkreis und organisiert die Fahrt gemeinsam mit dem Ausbildungsträger.",
    ),
    (
        "Hausarztnachfolge frühzeitig begleiten",
        "Die Kommune spricht Praxisinhaberinnen und -inhaber ab etwa 60 Jahren an und begleitet die "
        "Suche nach einer Nachfolge, bevor eine Praxis schließt.",
        "1. Überblick gewinnen: Welche Hausarztpraxen gibt es, wie alt sind die Inhaber, wer sucht "
        "eine Nachfolge? Die Niederlassungsberatung der Kassenärztlichen Vereinigung einbeziehen.\n\n"
        "2. Eine feste Ansprechperson in der Verwaltung (Nachfolge-Lotse) benennen.\n\n"
        "3. Übergaben erleichtern: Anstellung vor Übernahme, Praxisräume, Hilfe bei Wohnung und "
        "Kinderbetreuung für die neue Ärztin oder den neuen Arzt.",
        ("gp_succession",),
        "medium",
        "Kommune/Wirtschaftsförderung, Praxisinhaber, Niederlassungsberatung der KV",
        "Beispielansatz: Die Wirtschaftsförderung einer Mittelstadt führt eine vertrauliche Liste der "
        "Praxen, die in den nächsten fünf Jahren abgegeben werden, und stellt Interessierten das "
        "Umfeld vor (Schulen, Kitas, Wohnungsmarkt).",
    ),
    (
        "Weiterbildungsverbund Allgemeinmedizin",
        "Klinik und Hausarztpraxen der Region bieten die fünfjährige Weiterbildung Allgemeinmedizin "
        "aus einer Hand an – wer hier weitergebildet wird, bleibt oft.",
        "Rotationen zwischen Klinik und Praxis werden im Voraus geplant, ein gemeinsamer "
        "Ansprechpartner begleitet die Ärztinnen und Ärzte in Weiterbildung; Förderprogramme "
        "für Weiterbildungsstellen werden genutzt.",
        ("gp_succession", "networking"),
        "high",
        "Kliniken, Hausarztpraxen, Kommune als Unterstützerin",
        "Beispielansatz: Ein Krankenhaus und mehrere Praxen eines Verbunds mehrerer Kommunen bieten "
        "gemeinsam Weiterbildungsstellen an und werben damit auf einer Kampagnenseite.",
    ),
    (
        "Telemedizin zwischen Praxis, Pflegeheim und Klinik",
        "Videosprechstunden und Telekonsile entlasten Praxen, sparen Wege und helfen dort, wo ein "
        "Planungsbereich knapp versorgt ist.",
        "Geeignete Anlässe auswählen (z. B. Visiten im Pflegeheim, Befundbesprechungen, "
        "fachärztliche Konsile), Technik und Datenschutz klären, delegierbare Leistungen durch "
        "qualifizierte Praxisassistenz vor Ort erbringen lassen.",
        ("telemedicine", "gp_succession"),
        "high",
        "Hausarztpraxen, Pflegeeinrichtungen, Kliniken, IT-Dienstleister",
        "Beispielansatz: Ein Pflegeheim und eine Hausarztpraxis vereinbaren eine wöchentliche "
        "Video-Visite; eine Praxisassistentin ist vor Ort.",
    ),
    (
        "Mobil zur Ausbildung: Jobticket, Fahrgemeinschaften, Rufbus",
        "Auszubildende ohne Auto erreichen Schule und Einsatzorte im ländlichen Raum oft schwer; "
        "Arbeitgeber und Kommune lösen das gemeinsam.",
        "Wege von Schule, Wohnort und Einsatzorten erfassen, Fahrgemeinschaften über Einrichtungen "
        "hinweg vermitteln, Jobtickets und Zuschüsse zum Führerschein prüfen, Rufbus-Angebote auf "
        "Schichtzeiten abstimmen.",
        ("mobility", "nursing_recruitment"),
        "medium",
        "Arbeitgeber, Pflegeschulen, Kommune, Verkehrsbetriebe",
        "Beispielansatz: Mehrere Einrichtungen einer Flächengemeinde teilen sich ein Fahrzeug für "
        "Auszubildende zu Einsätzen außerhalb des Ortes.",
    ),
    (
        "Wohnen für Auszubildende und neue Fachkräfte",
        "Bezahlbare, kurzfristig verfügbare Wohnungen machen den Start in der Region leichter.",
        "Leerstand und Einliegerwohnungen erfassen, mit Wohnungsunternehmen Kontingente "
        "vereinbaren, möblierte Übergangswohnungen für die ersten Monate anbieten.",
        ("housing", "marketing"),
        "high",
        "Kommune, Wohnungsunternehmen, Arbeitgeber",
        "Beispielansatz: Eine Kommune vermittelt gemeinsam mit einem Wohnungsunternehmen "
        "Azubi-Wohngemeinschaften in Nähe von Klinik und Schule.",
    ),
    (
        "Kinderbetreuung im Schichtdienst",
        "Randzeiten-Betreuung hilft Pflegekräften und Ärztinnen mit Kindern, in den Beruf "
        "zurückzukehren oder die Stunden aufzustocken.",
        "Bedarf bei den Einrichtungen abfragen, mit Kita-Trägern Randzeiten oder Belegplätze "
        "vereinbaren, Tagespflegepersonen für Früh- und Spätdienste gewinnen.",
        ("childcare",),
        "medium",
        "Arbeitgeber, Kita-Träger, Jugendamt, Kommune",
        "Beispielansatz: Eine Klinik und ein Pflegedienst finanzieren gemeinsam Belegplätze in einer "
        "Kita mit erweiterten Öffnungszeiten.",
    ),
    (
        "Gemeinsames Standortmarketing für Gesundheitsberufe",
        "Die Region wirbt als Ganzes: eine Kampagnenseite mit allen Arbeitgebern, Stellen und "
        "Ausbildungsplätzen, dazu Vorlagen aus der Toolbox.",
        "Eine Kampagnenseite je Modellregion anlegen, Arbeitgeber zur Pflege ihrer Stellen "
        "einladen, Materialien aus der Toolbox anpassen (Plakat, Textbausteine), den Link auf "
        "Messen, in Schulen und in sozialen Netzwerken teilen.",
        ("marketing", "networking"),
        "low",
        "Kommune/Wirtschaftsförderung, Arbeitgeber, Netzwerkkoordination",
        "Beispielansatz: Zur Ausbildungsmesse wird ein Plakat mit QR-Code auf die Kampagnenseite "
        "der Region gedruckt.",
    ),
    (
        "Runder Tisch Gesundheit in der Kommune",
        "Ein regelmäßiges Treffen der Akteure vor Ort schafft die Kontakte, aus denen Kooperationen "
        "entstehen.",
        "Zwei- bis dreimal im Jahr; Teilnehmende aus Praxen, Pflege, Klinik, Apotheke, "
        "Rettungsdienst, Verwaltung und Wirtschaft; jedes Treffen mit einem Thema und einer "
        "Verabredung, wer bis wann was tut.",
        ("networking",),
        "low",
        "Kommune (Einladung und Moderation), alle Gesundheitsakteure vor Ort",
        "Beispielansatz: Eine Kommune nutzt die Vorschläge dieser Plattform als Tagesordnung: "
        "Welche vorgeschlagenen Verbindungen wollen wir angehen?",
    ),
    (
        "Willkommenspaket für neue Fachkräfte",
        "Ein Paket aus Informationen und Kontakten erleichtert neuen Fachkräften und ihren Familien "
        "das Ankommen.",
        "Ansprechpersonen, Wohnungs- und Kita-Hinweise, Vereine, Mobilität und ein Termin mit der "
        "Kommune – gedruckt und als Seite im Netz.",
        ("marketing", "housing", "childcare"),
        "low",
        "Kommune, Arbeitgeber",
        "Beispielansatz: Arbeitgeber einer Region geben das gleiche Willkommenspaket aus und "
        "ergänzen nur ihren eigenen Teil.",
    ),
)

_JOB_AD = """Vorlage: Stellenanzeige Pflegefachkraft (Demomaterial)
=======================================================

[Name der Einrichtung] in [Ort] sucht zum [Datum] eine

Pflegefachfrau / einen Pflegefachmann (m/w/d) in Voll- oder Teilzeit

Was Sie bei uns erwartet
- ein Team von [Zahl] Kolleginnen und Kollegen
- Einarbeitung mit fester Ansprechperson
- [Vorteil, z. B. Jobticket, Kinderbetreuung, Wohnung]

Was Sie mitbringen
- abgeschlossene Ausbildung in der Pflege
- Freude an der Arbeit mit Menschen

Leben in der Gesundheitsregion Münsterland
[Zwei, drei Sätze zum Ort: Schulen, Kitas, Freizeit, Verkehr.]

Kontakt: [Name], [Telefon], [E-Mail]

Hinweis: Demomaterial der Plattform Gesundheitsregion Münsterland. Platzhalter in eckigen
Klammern ersetzen; Angaben vor der Veröffentlichung prüfen.
"""

_WEB_TEXT = """Textbausteine für die Website einer Kommune (Demomaterial)
==========================================================

Gesund arbeiten in [Ort]
In [Ort] arbeiten Kliniken, Praxen, Pflegedienste und Therapiepraxen zusammen – über die
Gemeindegrenzen hinweg. Wer hier eine Ausbildung in einem Gesundheitsberuf beginnt, findet
Praxiseinsätze in der Nähe und Ansprechpersonen, die weiterhelfen.

Ausbildung in der Pflege
Die generalistische Pflegeausbildung dauert in Vollzeit drei Jahre. Die Praxiseinsätze finden bei
Einrichtungen in der Region statt; [Ort] unterstützt bei Wohnung und Mobilität.

Ihre Ansprechperson
[Name], [Funktion], [Telefon], [E-Mail]

Hinweis: Demomaterial der Plattform Gesundheitsregion Münsterland, frei anpassbar.
"""

_POSTER_SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="595" height="842" viewBox="0 0 595 842" role="img" aria-label="Plakat: Ausbildung in der Gesundheitsregion Münsterland (Demomaterial)">
  <rect width="595" height="842" fill="#f5f6f3"/>
  <rect width="595" height="260" fill="#0b5f66"/>
  <circle cx="470" cy="150" r="70" fill="#a8501a"/>
  <path d="M455 150h30M470 135v30" stroke="#ffffff" stroke-width="10" stroke-linecap="round"/>
  <text x="48" y="110" font-family="sans-serif" font-size="40" font-weight="700" fill="#ffffff">Deine Ausbildung</text>
  <text x="48" y="160" font-family="sans-serif" font-size="40" font-weight="700" fill="#ffffff">im Münsterland</text>
  <text x="48" y="215" font-family="sans-serif" font-size="22" fill="#e3f0f0">Pflege · Medizin · Therapie</text>
  <text x="48" y="340" font-family="sans-serif" font-size="26" fill="#1c2529">Praxiseinsätze in deiner Nähe.</text>
  <text x="48" y="380" font-family="sans-serif" font-size="26" fill="#1c2529">Teams, die dich einarbeiten.</text>
  <text x="48" y="420" font-family="sans-serif" font-size="26" fill="#1c2529">Eine Region, die zusammenhält.</text>
  <rect x="48" y="500" width="180" height="180" fill="#ffffff" stroke="#6b7a7d" stroke-dasharray="6 6"/>
  <text x="138" y="595" font-family="sans-serif" font-size="16" fill="#52615f" text-anchor="middle">[QR-Code zur</text>
  <text x="138" y="617" font-family="sans-serif" font-size="16" fill="#52615f" text-anchor="middle">Kampagnenseite]</text>
  <text x="260" y="560" font-family="sans-serif" font-size="22" fill="#1c2529">[Ort / Modellregion]</text>
  <text x="260" y="595" font-family="sans-serif" font-size="18" fill="#52615f">[Adresse der Kampagnenseite]</text>
  <text x="48" y="800" font-family="sans-serif" font-size="14" fill="#52615f">Demomaterial der Plattform Gesundheitsregion Münsterland – Platzhalter ersetzen.</text>
</svg>
"""

#: (title, description, category, filename, content, licence, usage notes)
TOOLBOX_FILES: tuple[tuple[str, str, str, str, bytes, str, str], ...] = (
    (
        "Vorlage: Stellenanzeige Pflegefachkraft",
        "Textvorlage mit Platzhaltern für eine Stellenanzeige. " + DEMO_NOTE,
        "template",
        "stellenanzeige-pflegefachkraft.txt",
        _JOB_AD.encode("utf-8"),
        "CC0 1.0",
        "Frei verwendbar und veränderbar, ohne Namensnennung.",
    ),
    (
        "Plakat: Deine Ausbildung im Münsterland",
        "DIN-A4-Plakat als SVG mit Platz für einen QR-Code zur Kampagnenseite. " + DEMO_NOTE,
        "poster",
        "plakat-ausbildung-muensterland.svg",
        _POSTER_SVG.encode("utf-8"),
        "CC BY 4.0",
        "Namensnennung: „Gesundheitsregion Münsterland (Demomaterial)“. Farben, Texte und "
        "QR-Code dürfen angepasst werden.",
    ),
    (
        "Textbausteine für die Website einer Kommune",
        "Kurze Texte über Gesundheitsberufe und Ausbildung in der Kommune. " + DEMO_NOTE,
        "text",
        "textbausteine-kommune.txt",
        _WEB_TEXT.encode("utf-8"),
        "CC0 1.0",
        "Frei verwendbar; Platzhalter in eckigen Klammern ersetzen.",
    ),
)


def _campaign_intro(name: str) -> str:
    return (
        f"Du suchst eine Ausbildung oder eine Stelle in Pflege, Medizin oder Therapie? In {name} "
        "arbeiten Kliniken, Praxen, Pflegedienste und Einrichtungen zusammen – und suchen "
        "Verstärkung.\n\n"
        "Unten findest du die offenen Ausbildungsplätze, Praxiseinsätze und Stellen der Region "
        "sowie die Arbeitgeber vor Ort. Sie werden aus dem Netzwerk laufend aktualisiert.\n\n"
        "Demo-Kampagnenseite: Dieser Text ist eine Vorlage der Plattform und kann von der "
        "Netzwerkkoordination angepasst werden."
    )


def load(summary: Any, seed: int, progress: Callable[[str, int, int], None]) -> None:
    """Seed the library, the campaign pages and the toolbox (idempotent; ``seed`` is unused:
    the content is fixed text)."""
    from network.toolbox.services import store_item

    created = 0
    if not db.session.scalar(sa.select(sa.func.count()).select_from(Recommendation)):
        for done, (title, text, body, topics, effort, actors, examples) in enumerate(
            RECOMMENDATIONS, start=1
        ):
            db.session.add(
                Recommendation(
                    title=title,
                    summary=text,
                    body=body,
                    topics=list(topics),
                    effort=effort,
                    actors=actors,
                    examples=examples,
                )
            )
            created += 1
            progress("recommendations", done, len(RECOMMENDATIONS))
    pages = 0
    existing = set(db.session.scalars(sa.select(CampaignPage.slug)))
    for slug, (name, _members) in MODEL_REGIONS.items():
        if slug in existing:
            continue
        db.session.add(
            CampaignPage(
                slug=slug,
                title=f"Gesundheitsberufe in {name}",
                intro=_campaign_intro(name),
                model_region=slug,
                published=True,
            )
        )
        pages += 1
    db.session.commit()

    files = 0
    titles = set(db.session.scalars(sa.select(ToolboxItem.title)))
    for done, (title, description, category, filename, content, licence, notes) in enumerate(
        TOOLBOX_FILES, start=1
    ):
        if title not in titles:
            store_item(
                {
                    "title": title,
                    "description": description,
                    "category": category,
                    "licence": licence,
                    "usage_notes": notes,
                },
                filename,
                content,
                user_id=None,
            )
            files += 1
        progress("toolbox", done, len(TOOLBOX_FILES))
    summary.extra["Handlungsempfehlungen"] = created
    summary.extra["Kampagnenseiten"] = pages
    summary.extra["Toolbox-Dateien"] = files
