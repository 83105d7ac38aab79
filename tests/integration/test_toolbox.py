"""Marketing toolbox: checked uploads, safe downloads, public campaign pages with sharing links."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.models import AuditLog, CampaignPage, Position, ToolboxItem
from network.toolbox.files import MAX_BYTES, UploadRejected, inspect_upload

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(40)
SAFE_SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#0b5f66"/><use href="#r"/></svg>'
LENGERICH = "05566040"
LADBERGEN = "05566032"


def fields(**overrides):
    data = {
        "title": "Plakat Pflege",
        "description": "Für Ausbildungsmessen",
        "category": "poster",
        "licence": "CC BY 4.0",
        "usage_notes": "Namensnennung: Netzwerk",
    }
    data.update(overrides)
    return data


def post_file(client, content: bytes, filename: str, **overrides):
    data = fields(**overrides)
    data["file"] = (io.BytesIO(content), filename)
    return client.post("/toolbox/hochladen", data=data, content_type="multipart/form-data")


def office_zip(members: dict[str, bytes], first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if first:
            archive.writestr(first, members.pop(first), compress_type=zipfile.ZIP_STORED)
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


DOCX = office_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
ODT = office_zip(
    {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office/>"},
    first="mimetype",
)


def stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "toolbox"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def clean_uploads(app):
    for path in stored_files(app):
        path.unlink()
    yield


# --------------------------------------------------------------------------- file checks


@pytest.mark.parametrize(
    ("filename", "content", "mime"),
    [
        ("a.png", PNG, "image/png"),
        ("a.JPG", b"\xff\xd8\xff\xe0" + bytes(20), "image/jpeg"),
        ("a.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF", "application/pdf"),
        ("a.svg", SAFE_SVG, "image/svg+xml"),
        ("a.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("a.odt", ODT, "application/vnd.oasis.opendocument.text"),
        ("a.txt", "Grüße aus Lengerich\n".encode(), "text/plain; charset=utf-8"),
    ],
)
def test_accepted_types(filename, content, mime):
    assert inspect_upload(filename, content).mime_type == mime


@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("setup.pdf", b"MZ\x90\x00" + bytes(100), "content_mismatch"),
        ("bild.png", b"\xff\xd8\xff\xe0" + bytes(20), "content_mismatch"),
        ("brief.docx", office_zip({"a.txt": b"x"}), "content_mismatch"),
        ("brief.docx", b"MZ" + bytes(10), "content_mismatch"),
        (
            "makro.docx",
            office_zip(
                {"[Content_Types].xml": b"", "word/document.xml": b"", "word/vbaProject.bin": b""}
            ),
            "macros",
        ),
        ("text.odt", DOCX, "content_mismatch"),
        ("notiz.txt", b"MZ\x90\x00", "content_mismatch"),
        ("notiz.txt", b"abc\x00def", "not_text"),
        ("notiz.txt", b"\xff\xfe\xfa", "not_text"),
        ("run.exe", b"MZ", "extension"),
        ("seite.html", b"<html>", "extension"),
        ("ohne_endung", b"abc", "extension"),
        ("leer.pdf", b"", "empty"),
        (
            "flyer.pdf",
            b"%PDF-1.4 /OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
            "unsafe_pdf",
        ),
        (
            "x.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "unsafe_svg",
        ),
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "unsafe_svg"),
        (
            "x.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><text>x</text></a></svg>',
            "unsafe_svg",
        ),
        (
            "x.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="https://tracker.example/p.png"/></svg>',
            "unsafe_svg",
        ),
        (
            "x.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div/></foreignObject></svg>',
            "unsafe_svg",
        ),
        (
            "x.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://x.example/a.css);</style></svg>',
            "unsafe_svg",
        ),
        (
            "x.svg",
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
            "unsafe_svg",
        ),
        ("x.svg", b"<svg><unclosed></svg>", "broken"),
    ],
)
def test_refused_files(filename, content, code):
    with pytest.raises(UploadRejected) as caught:
        inspect_upload(filename, content)
    assert caught.value.code == code


def test_size_limit():
    with pytest.raises(UploadRejected) as caught:
        inspect_upload("big.png", PNG + bytes(MAX_BYTES))
    assert caught.value.code == "too_large"
    assert inspect_upload("ok.png", PNG + bytes(MAX_BYTES - len(PNG))).size == MAX_BYTES


# --------------------------------------------------------------------------- upload and download


def test_coordinator_uploads_and_everyone_downloads(app, client, login_as, clean_uploads):
    coordinator = login_as("coordinator")
    response = post_file(client, PNG, "../../etc/Plakat.png")
    assert response.status_code == 302
    item = db.session.scalar(sa.select(ToolboxItem))
    assert (item.title, item.licence, item.mime_type, item.size_bytes) == (
        "Plakat Pflege",
        "CC BY 4.0",
        "image/png",
        len(PNG),
    )
    assert item.sha256 == hashlib.sha256(PNG).hexdigest()
    assert item.original_filename == "Plakat.png" and item.uploaded_by_id == coordinator.id
    [path] = stored_files(app)
    assert path.name == item.stored_name and re.fullmatch(r"[0-9a-f]{32}\.png", path.name)
    assert path.read_bytes() == PNG and not path.stat().st_mode & 0o111
    assert db.session.scalar(sa.select(AuditLog.action)) == "toolbox.upload"

    anonymous = app.test_client()
    listing = anonymous.get("/toolbox/").get_data(as_text=True)
    assert (
        "Plakat Pflege" in listing
        and "CC BY 4.0" in listing
        and "Namensnennung: Netzwerk" in listing
    )
    download = anonymous.get(f"/toolbox/datei/{item.id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert "plakat-pflege.png" in download.headers["Content-Disposition"]
    inline = anonymous.get(f"/toolbox/datei/{item.id}?ansehen=1")
    assert inline.headers["Content-Disposition"].startswith("inline")


def test_svg_is_always_an_attachment_with_a_restrictive_policy(
    app, client, login_as, clean_uploads
):
    login_as("coordinator")
    assert post_file(client, SAFE_SVG, "logo.svg").status_code == 302
    item = db.session.scalar(sa.select(ToolboxItem))
    response = app.test_client().get(f"/toolbox/datei/{item.id}?ansehen=1")
    assert response.headers["Content-Type"] == "image/svg+xml; charset=utf-8" or response.headers[
        "Content-Type"
    ].startswith("image/svg+xml")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_exe_renamed_pdf_is_refused_and_the_form_keeps_the_other_fields(
    app, client, login_as, clean_uploads
):
    login_as("coordinator")
    response = post_file(
        client,
        b"MZ\x90\x00\x03" + bytes(500),
        "flyer.pdf",
        title="Flyer Pflegeschule",
        usage_notes="Nur für Netzwerkpartner",
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (
        "Der Inhalt passt nicht zur Endung .pdf: erwartet PDF, gefunden Windows-Programm (EXE)."
        in body
    )
    assert 'value="Flyer Pflegeschule"' in body and 'value="CC BY 4.0"' in body
    assert "Nur für Netzwerkpartner" in body and "Für Ausbildungsmessen" in body
    assert '<option selected value="poster">' in body
    assert "bitte wählen Sie nur die Datei neu aus" in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ToolboxItem)) == 0
    assert stored_files(app) == []


def test_oversize_upload_is_refused_with_a_clear_message(app, client, login_as, clean_uploads):
    login_as("coordinator")
    response = post_file(client, PNG + bytes(MAX_BYTES), "riesig.png")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "erlaubt sind höchstens 10 MB" in body and 'value="Plakat Pflege"' in body
    assert stored_files(app) == []


def test_body_beyond_the_request_limit_gets_the_upload_page(app, client, login_as):
    login_as("coordinator")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = post_file(client, PNG + bytes(4096), "gross.png")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Die Datei ist zu groß; erlaubt sind höchstens 10 MB." in body and 'name="title"' in body


def test_missing_licence_and_file(client, login_as, clean_uploads):
    login_as("coordinator")
    response = client.post(
        "/toolbox/hochladen", data=fields(licence=""), content_type="multipart/form-data"
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte geben Sie die Lizenz an." in body and "Bitte wählen Sie eine Datei aus." in body


def test_unsafe_svg_message(client, login_as, clean_uploads):
    login_as("coordinator")
    response = post_file(
        client, b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "x.svg"
    )
    assert response.status_code == 422
    assert "unsichere Bestandteile (onload)" in response.get_data(as_text=True)


def test_delete_removes_the_file(app, client, login_as, clean_uploads):
    login_as("coordinator")
    post_file(client, b"Text\n", "vorlage.txt")
    item_id = db.session.scalar(sa.select(ToolboxItem.id))
    assert len(stored_files(app)) == 1
    assert client.post(f"/toolbox/{item_id}/loeschen").status_code == 302
    assert stored_files(app) == []
    assert client.get(f"/toolbox/datei/{item_id}").status_code == 404


def test_provider_may_download_but_not_upload(client, login_as):
    login_as("provider")
    assert client.get("/toolbox/").status_code == 200
    assert client.get("/toolbox/hochladen").status_code == 403


# --------------------------------------------------------------------------- campaign pages


def _campaign(**fields) -> CampaignPage:
    page = CampaignPage(
        slug=fields.pop("slug", "triple-lt"),
        title=fields.pop("title", "Gesundheitsberufe im Tecklenburger Land"),
        intro=fields.pop("intro", "Willkommen.\n\nZweiter Absatz."),
        model_region=fields.pop("model_region", "ladbergen-lengerich-lienen-tecklenburg"),
        published=fields.pop("published", True),
        **fields,
    )
    db.session.add(page)
    db.session.commit()
    return page


def test_campaign_page_presents_employers_positions_and_share_links(app, client, make_org):
    clinic = make_org("Klinik am Teuto", kind="hospital", ags=LENGERICH)
    practice = make_org("Praxis Ladbergen", kind="gp_practice", ags=LADBERGEN)
    hidden = make_org("Interne Praxis", kind="gp_practice", ags=LENGERICH, visibility="members")
    far = make_org("Praxis Oelde", kind="gp_practice", ags="05570028")
    db.session.add_all(
        [
            Position(
                organisation_id=clinic.id,
                position_type="apprenticeship",
                profession="pflegefachfrau",
                title="Ausbildung Pflegefachfrau/-mann",
                ags=LENGERICH,
                latitude=1,
                longitude=1,
            ),
            Position(
                organisation_id=practice.id,
                position_type="job",
                profession="mfa",
                title="MFA in Teilzeit",
                ags=LADBERGEN,
                latitude=1,
                longitude=1,
            ),
            Position(
                organisation_id=practice.id,
                position_type="job",
                profession="mfa",
                title="Besetzte Stelle",
                status="filled",
                ags=LADBERGEN,
                latitude=1,
                longitude=1,
            ),
            Position(
                organisation_id=hidden.id,
                position_type="job",
                profession="mfa",
                title="Interne Stelle",
                ags=LENGERICH,
                latitude=1,
                longitude=1,
            ),
            Position(
                organisation_id=far.id,
                position_type="job",
                profession="mfa",
                title="Stelle in Oelde",
                ags="05570028",
                latitude=1,
                longitude=1,
            ),
        ]
    )
    db.session.commit()
    _campaign()
    response = client.get("/toolbox/kampagne/triple-lt")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ladbergen–Lengerich–Lienen–Tecklenburg" in body and "<p>Zweiter Absatz.</p>" in body
    training = body.split("data-training")[1].split("</ul>")[0]
    jobs = body.split("data-jobs")[1].split("</ul>")[0]
    assert "Ausbildung Pflegefachfrau/-mann" in training and "Klinik am Teuto" in training
    assert "MFA in Teilzeit" in jobs
    for absent in ("Besetzte Stelle", "Interne Stelle", "Stelle in Oelde", "Interne Praxis"):
        assert absent not in body
    employers = body.split("data-employers")[1].split("</table>")[0]
    assert (
        employers.index("Klinik am Teuto") < employers.index("Praxis Ladbergen")
        or "Praxis Ladbergen" in employers
    )

    # Links go to the positions area when it exists, else to the directory profile.
    position = db.session.scalar(sa.select(Position).where(Position.title == "MFA in Teilzeit"))
    if "positions.detail" in app.view_functions:
        assert re.search(rf'href="[^"]*{position.id}[^"]*">MFA in Teilzeit</a>', jobs)
    elif "directory.profile" in app.view_functions:
        assert re.search(rf'href="[^"]*{practice.id}[^"]*">MFA in Teilzeit</a>', jobs)
    else:
        assert "MFA in Teilzeit</a>" not in jobs

    share = body.split("data-share-links")[1].split("</ul>")[0]
    page_url = "http://localhost/toolbox/kampagne/triple-lt"
    assert 'href="mailto:?subject=Gesundheitsberufe%20im%20Tecklenburger%20Land&amp;body=' in share
    assert "http%3A%2F%2Flocalhost%2Ftoolbox%2Fkampagne%2Ftriple-lt" in share
    assert f'value="{page_url}"' in body
    # No third-party script: every script is our own static file.
    assert all(src.startswith("/static/") for src in re.findall(r'<script[^>]*src="([^"]+)"', body))
    assert not re.search(r"<script(?![^>]*(src=|application/json))", body)


def test_unpublished_campaign_is_only_for_coordinators(app, client, login_as):
    _campaign(published=False)
    assert client.get("/toolbox/kampagne/triple-lt").status_code == 404
    assert "triple-lt" not in client.get("/toolbox/").get_data(as_text=True)
    login_as("coordinator")
    body = client.get("/toolbox/kampagne/triple-lt").get_data(as_text=True)
    assert "Entwurf" in body
    assert client.get("/toolbox/kampagne/gibt-es-nicht").status_code == 404


def test_coordinator_creates_and_edits_campaign_pages(client, login_as):
    login_as("coordinator")
    response = client.post(
        "/toolbox/kampagnen/neu",
        data={
            "title": "Pflege in Rheine!",
            "slug": "",
            "intro": "Hallo",
            "scope": "m:05566076",
            "published": "y",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/toolbox/kampagne/pflege-in-rheine"
    )
    page = db.session.scalar(sa.select(CampaignPage))
    assert (page.ags, page.model_region, page.kreis_ags, page.published) == (
        "05566076",
        None,
        None,
        True,
    )

    response = client.post(
        "/toolbox/kampagnen/neu",
        data={"title": "Zweite", "slug": "pflege-in-rheine", "intro": "x", "scope": "k:05566"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "schon vergeben" in body and 'value="Zweite"' in body
    response = client.post(
        "/toolbox/kampagnen/neu",
        data={"title": "Dritte", "slug": "Böse Adresse", "intro": "x", "scope": "k:05566"},
    )
    assert response.status_code == 422 and "Nur Kleinbuchstaben" in response.get_data(as_text=True)

    response = client.post(
        f"/toolbox/kampagnen/{page.id}/bearbeiten",
        data={
            "title": "Pflege im Kreis Steinfurt",
            "slug": "pflege-in-rheine",
            "intro": "Neu",
            "scope": "k:05566",
        },
    )
    assert response.status_code == 302
    db.session.refresh(page)
    assert (page.kreis_ags, page.ags, page.published) == ("05566", None, False)
    assert "Kreis Steinfurt" in client.get("/toolbox/kampagnen").get_data(as_text=True)
    edit_form = client.get(f"/toolbox/kampagnen/{page.id}/bearbeiten").get_data(as_text=True)
    assert '<option selected value="k:05566">' in edit_form
    assert client.post(f"/toolbox/kampagnen/{page.id}/loeschen").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CampaignPage)) == 0
