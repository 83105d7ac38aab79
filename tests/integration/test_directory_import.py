"""CSV import and export of the directory: validation, report, idempotence, round trip, CLI, job."""

from __future__ import annotations

import csv
import io
import re
import time

import sqlalchemy as sa

from network.extensions import db
from network.models import AuditLog, Job, Organisation

HEADER = "external_id;kind;name;street;postcode;ags;latitude;longitude;offers;needs;visibility"

MIXED = "\n".join(
    [
        HEADER,  # line 1
        "P-001;gp_practice;Hausarztpraxis Nord;Bahnhofstraße 1;49525;05566040;;;shuttle|joint_training;placement:ambulatory;",
        "P-002;pharmacy;Apotheke Falscher AGS;;;12345678;;;;;",  # 3: unknown AGS
        "P-003;therapy_practice;;;;05566088;;;;;",  # 4: missing name
        "P-004;mvz;MVZ in München;;;05515000;48,137;11,575;;;",  # 5: coordinates outside
        "P-001;gp_practice;Doppelte Praxis;;;05566040;;;;;",  # 6: duplicate id
        "P-005;care_home;Haus Sonnenblick;Am Park 3;48565;05566084;52,1341;7,3429;;childcare;members",
        "P-006;castle;Burg Tecklenburg;;;05566088;;;;;",  # 8: unknown kind
        "P-007;sme;Firma mit Tippfehler;;;05566040;;;shutle;;",  # 9: bad tag
        "P-008;school;Pflegeschule Kurz-AGS;;;5566;;;;;",  # 10: AGS not 8 digits
        "",
        '"P-009";"ambulatory_care";"Pflegedienst ""Teuto""; mit Semikolon";;;05566076;;;placement:ambulatory;;',  # 12
    ]
)
GOOD = {"P-001", "P-005", "P-009"}


def upload(client, content: bytes, name: str = "organisationen.csv"):
    return client.post(
        "/verzeichnis/import",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def finished_job(client, response) -> Job:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    job_id = int(re.search(r"/import/(\d+)$", response.headers["Location"]).group(1))
    deadline = time.monotonic() + 90  # generous: the machine may be shared
    while time.monotonic() < deadline:
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        if job.status in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("import job did not finish")


def report_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


def test_mixed_file_imports_exactly_the_good_rows_and_reports_each_bad_one(client, login_as):
    coordinator = login_as("coordinator")
    response = upload(client, MIXED.encode("utf-8"))
    job = finished_job(client, response)
    assert job.status == "done"
    assert job.result["created"] == 3 and job.result["rejected"] == 7 and job.result["total"] == 10
    stored = {o.external_id: o for o in db.session.scalars(sa.select(Organisation))}
    assert set(stored) == GOOD
    assert (
        stored["P-001"].offers == {"shuttle", "joint_training"}
        and not stored["P-001"].exact_location
    )
    assert (
        stored["P-005"].exact_location
        and stored["P-005"].latitude == 52.1341
        and stored["P-005"].visibility == "members"
    )
    assert stored["P-009"].name == 'Pflegedienst "Teuto"; mit Semikolon'
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .filter_by(action="organisation.created")
        )
        == 3
    )
    assert (
        db.session.scalar(sa.select(AuditLog).filter_by(action="organisation.created")).actor_id
        == coordinator.id
    )

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 neu" in page and "7 abgelehnt" in page

    report = client.get(f"/verzeichnis/import/{job.id}/bericht.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = report_rows(report.get_data(as_text=True))
    assert rows[0][:3] == ["Zeile", "Grund", "external_id"]
    reasons = {int(row[0]): row[1] for row in rows[1:]}
    assert set(reasons) == {3, 4, 5, 6, 8, 9, 10}
    assert "Keine Gemeinde im Münsterland hat den AGS 12345678" in reasons[3]
    assert "Name fehlt" in reasons[4]
    assert "nicht im Münsterland" in reasons[5]
    assert "steht schon in Zeile 2" in reasons[6]
    assert "Unbekannte Art „castle“" in reasons[8]
    assert "Unbekannte Angebote: shutle" in reasons[9]
    assert "genau 8 Ziffern" in reasons[10]
    # The original cells come back so the rows can be corrected and imported again.
    assert rows[1][2:5] == ["P-002", "pharmacy", "Apotheke Falscher AGS"]


def test_wrong_encoding_imports_nothing_and_says_why(client, login_as):
    login_as("coordinator")
    content = (HEADER + "\nP-100;gp_practice;Praxis Müller;;;05566040;;;;;\n").encode("cp1252")
    job = finished_job(client, upload(client, content))
    assert job.result["created"] == 0 and job.result["file_error"]
    assert "nicht UTF-8" in job.result["file_error"] and "Zeile 2" in job.result["file_error"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0
    rows = report_rows(
        client.get(f"/verzeichnis/import/{job.id}/bericht.csv").get_data(as_text=True)
    )
    assert rows[1][0] == "2" and "UTF-8" in rows[1][1]


def test_utf8_with_bom_and_comma_delimiter_are_accepted(client, login_as):
    login_as("coordinator")
    content = (
        "\ufeffexternal_id,kind,name,ags,description,offers\r\n"
        'K-1,hospital,"Klinik Süd, Haus B",05515000,"Zwei Zeilen\nBeschreibung",telemedicine|emergency_care\r\n'
        "K-2,Apotheke,Apotheke am Dom,05515000,,\r\n"
    ).encode("utf-8")
    job = finished_job(client, upload(client, content))
    assert job.result["created"] == 2, job.result
    klinik = db.session.scalar(sa.select(Organisation).filter_by(external_id="K-1"))
    assert klinik.name == "Klinik Süd, Haus B" and klinik.description == "Zwei Zeilen\nBeschreibung"
    assert klinik.offers == {"telemedicine", "emergency_care"}
    # German labels are accepted for the kind.
    assert (
        db.session.scalar(sa.select(Organisation.kind).filter_by(external_id="K-2")) == "pharmacy"
    )


def test_reimporting_the_same_file_changes_nothing(client, login_as):
    login_as("coordinator")
    finished_job(client, upload(client, MIXED.encode("utf-8")))
    versions = dict(
        db.session.execute(sa.select(Organisation.external_id, Organisation.version)).all()
    )
    audit_count = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    job = finished_job(client, upload(client, MIXED.encode("utf-8")))
    assert (job.result["created"], job.result["updated"], job.result["unchanged"]) == (0, 0, 3)
    db.session.expire_all()
    assert (
        dict(db.session.execute(sa.select(Organisation.external_id, Organisation.version)).all())
        == versions
    )
    # Only the entry for the started import; no organisation.* noise.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == audit_count + 1


def test_an_import_updates_only_the_columns_in_the_file(client, login_as, make_org):
    login_as("coordinator")
    org = make_org(name="Praxis Alt", external_id="X-1", phone="0251 1", offers=["shuttle"])
    job = finished_job(
        client, upload(client, b"external_id;name;kind;ags\nX-1;Praxis Neu;gp_practice;05566040\n")
    )
    assert job.result["updated"] == 1
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert (org.name, org.phone, org.offers, org.version) == (
        "Praxis Neu",
        "0251 1",
        {"shuttle"},
        2,
    )
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="organisation.updated"))
    assert (
        entry.details["changes"] == {"name": ["Praxis Alt", "Praxis Neu"]}
        and entry.details["via"] == "import"
    )


def test_export_round_trips_with_import(client, login_as, make_org):
    login_as("coordinator")
    make_org(
        name="Klinik mit Punkt",
        kind="hospital",
        external_id="H-1",
        latitude=52.1911,
        longitude=7.8502,
        exact_location=True,
        offers=["telemedicine"],
        needs=["childcare"],
    )
    make_org(
        name='Praxis "ohne" Kennung; mit Semikolon',
        description="Zeile 1\nZeile 2",
        staff_count=12,
        visibility="members",
    )
    make_org(
        name="Demo-Pflegedienst",
        kind="ambulatory_care",
        synthetic=True,
        free_tags="Demenz, Palliativ",
        website="https://example.org",
    )
    # buffered: the streamed body is read inside the request, as a server would.
    exported = client.get("/verzeichnis/export.csv", buffered=True)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    content = exported.get_data()
    assert content.startswith("\ufeff".encode())
    rows = report_rows(content.decode("utf-8"))
    assert rows[0][:4] == ["external_id", "id", "kind", "name"] and len(rows) == 4
    versions = dict(db.session.execute(sa.select(Organisation.id, Organisation.version)).all())

    job = finished_job(client, upload(client, content, "organisationen.csv"))
    assert (
        job.result["created"],
        job.result["updated"],
        job.result["unchanged"],
        job.result["rejected"],
    ) == (0, 0, 3, 0)
    db.session.expire_all()
    assert (
        dict(db.session.execute(sa.select(Organisation.id, Organisation.version)).all()) == versions
    )


def test_large_files_run_in_the_background_with_progress(app, client, login_as):
    login_as("coordinator")
    app.config["DIRECTORY_SYNC_IMPORT_BYTES"] = 0
    try:
        lines = [HEADER] + [f"B-{i};pharmacy;Apotheke {i};;;05515000;;;;;" for i in range(1200)]
        response = upload(client, "\n".join(lines).encode("utf-8"))
        assert response.status_code == 302
        job_page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert 'id="import-progress"' in job_page
        job = finished_job(client, response)
        assert job.status == "done" and job.result["created"] == 1200
        assert job.progress_current == job.progress_total == 1200
        fragment = client.get(f"{response.headers['Location']}/fortschritt").get_data(as_text=True)
        assert "hx-trigger" not in fragment and "1200 neu" in fragment
    finally:
        app.config.pop("DIRECTORY_SYNC_IMPORT_BYTES", None)


def test_running_job_fragment_polls_with_htmx(client, login_as):
    user = login_as("coordinator")
    job = Job(
        kind="directory_import",
        status="running",
        progress_current=40,
        progress_total=100,
        created_by_id=user.id,
    )
    db.session.add(job)
    db.session.commit()
    fragment = client.get(f"/verzeichnis/import/{job.id}/fortschritt").get_data(as_text=True)
    assert (
        'hx-trigger="every 1s"' in fragment and 'value="40"' in fragment and "<progress" in fragment
    )


def test_import_page_documents_the_columns_and_is_for_coordinators(client, login_as):
    login_as("provider")
    assert client.get("/verzeichnis/import").status_code == 403
    assert client.get("/verzeichnis/export.csv").status_code == 403


def test_import_page_for_coordinators(client, login_as):
    login_as("coordinator")
    page = client.get("/verzeichnis/import").get_data(as_text=True)
    for column in ("external_id", "kind", "ags", "latitude", "offers", "visibility"):
        assert f"<code>{column}</code>" in page
    response = client.post("/verzeichnis/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Bitte wählen Sie eine CSV-Datei" in response.get_data(
        as_text=True
    )


def test_cli_import_and_export(app, tmp_path):
    source = tmp_path / "orgs.csv"
    source.write_text(MIXED, encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["orgs", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "3 neu" in result.output and "7 abgelehnt" in result.output
    report = tmp_path / "orgs.abgelehnt.csv"
    assert report.exists() and "Zeile" in report.read_text(encoding="utf-8")

    again = runner.invoke(args=["orgs", "import", str(source)])
    assert "0 neu, 0 aktualisiert, 3 unverändert" in again.output

    target = tmp_path / "export.csv"
    result = runner.invoke(args=["orgs", "export", str(target)])
    assert result.exit_code == 0 and "3 Organisationen" in result.output
    result = runner.invoke(args=["orgs", "import", str(target)])
    assert "0 neu, 0 aktualisiert, 3 unverändert, 0 abgelehnt" in result.output

    bad = tmp_path / "latin1.csv"
    bad.write_bytes("external_id;kind;name;ags\nX;gp_practice;Müller;05566040\n".encode("latin-1"))
    result = runner.invoke(args=["orgs", "import", str(bad)])
    assert result.exit_code == 1 and "nicht UTF-8" in result.output

    assert runner.invoke(args=["orgs", "reindex"]).exit_code == 0
