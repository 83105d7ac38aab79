"""A newcomer's first visit in a real browser: register, confirm by e-mail, log in, log out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import text_of

pytestmark = pytest.mark.e2e


def test_register_confirm_login_logout(page, live_server, smtp_server):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Gesundheitsregion Münsterland")
    page.get_by_role("link", name="Registrieren").first.click()

    page.get_by_label("Name").fill("Lena Lengerich")
    page.get_by_label("E-Mail-Adresse").fill("lena@test.example.org")
    page.get_by_label("Ich bin …").select_option("provider")
    page.get_by_label("Passwort", exact=True).fill("kurz")
    page.get_by_label("Passwort wiederholen").fill("kurz")
    page.get_by_role("button", name="Konto anlegen").click()
    # A weak password is refused with a clear message; what was typed stays.
    expect(page.get_by_text("Das Passwort muss mindestens 10 Zeichen lang sein.")).to_be_visible()
    expect(page.get_by_label("E-Mail-Adresse")).to_have_value("lena@test.example.org")
    expect(page.get_by_label("Name")).to_have_value("Lena Lengerich")

    page.get_by_label("Passwort", exact=True).fill("Lengerich-Teuto-2026")
    page.get_by_label("Passwort wiederholen").fill("Lengerich-Teuto-2026")
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Postfach")

    [mail] = smtp_server.wait_for("lena@test.example.org")
    link = re.search(r"http://127\.0\.0\.1:\d+/\S+", text_of(mail)).group(0)
    page.goto(link)
    expect(page.get_by_text("Ihre E-Mail-Adresse ist bestätigt")).to_be_visible()

    page.get_by_label("E-Mail-Adresse").fill("lena@test.example.org")
    page.get_by_label("Passwort").fill("Lengerich-Teuto-2026")
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Bereich")

    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_text("Sie sind abgemeldet.")).to_be_visible()
    page.goto("/start")
    expect(page).to_have_url(re.compile(r"/konto/anmelden"))


def test_language_switch_to_english(page, live_server):
    page.goto("/")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
