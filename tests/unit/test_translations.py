"""Every German string of the interface and the mails has an English translation."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "translations.py"


def test_every_message_has_an_english_translation():
    spec = importlib.util.spec_from_file_location("translations_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gaps = module.missing("en")
    assert not gaps, "untranslated: " + "; ".join(
        f"{p[0]}: {m}" for m, p in sorted(gaps.items())[:20]
    )


def test_catalogue_compiles_and_translates(tmp_path):
    from network.i18n import compile_catalogues

    compile_catalogues(force=True)
    from babel.support import Translations

    translations = Translations.load(
        str(Path(__file__).resolve().parents[2] / "network" / "translations"), ["en"]
    )
    assert translations.gettext("Anmelden") == "Log in"
