"""Translation catalogues: `compile` merges parts into messages.mo; `missing` lists German
strings of templates and code that have no English translation yet.

    python scripts/translations.py compile
    python scripts/translations.py missing [--write parts/new.po]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def extracted_messages() -> dict[str, list[str]]:
    """msgid → places, from Python (gettext, _, lazy_gettext, _l, ngettext) and Jinja templates."""
    from babel.messages.extract import extract_from_dir

    method_map = [
        ("network/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    keywords = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2)}
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map=method_map, keywords=keywords
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def translated(language: str = "en") -> set[str]:
    from babel.messages.pofile import read_po

    parts = (ROOT / "network" / "translations" / language / "LC_MESSAGES" / "parts").glob("*.po")
    ids: set[str] = set()
    for part in parts:
        with part.open("rb") as handle:
            for message in read_po(handle):
                if message.id and message.string:
                    # A plural entry's id is (singular, plural); both count as translated.
                    ids.update(message.id if isinstance(message.id, tuple) else (message.id,))
    return ids


def missing(language: str = "en") -> dict[str, list[str]]:
    done = translated(language)
    return {msgid: places for msgid, places in extracted_messages().items() if msgid not in done}


def main(argv: list[str]) -> int:
    if not argv or argv[0] == "compile":
        from network.i18n import compile_catalogues

        written = compile_catalogues(force="--force" in argv)
        print(f"compiled {len(written)} catalogue(s)")
        return 0
    if argv[0] == "missing":
        gaps = missing()
        if "--write" in argv:
            from babel.messages.catalog import Catalog
            from babel.messages.pofile import write_po

            target = (
                ROOT
                / "network"
                / "translations"
                / "en"
                / "LC_MESSAGES"
                / "parts"
                / argv[argv.index("--write") + 1]
            )
            catalog = Catalog(locale="en")
            for msgid, places in sorted(gaps.items()):
                catalog.add(
                    msgid,
                    "",
                    locations=[(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places],
                )
            with target.open("wb") as handle:
                write_po(handle, catalog, width=100)
            print(f"wrote {len(gaps)} untranslated message(s) to {target}")
        else:
            for msgid, places in sorted(gaps.items()):
                print(f"{places[0]}: {msgid}")
            print(f"{len(gaps)} message(s) without English translation")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
