"""Directory: registering and editing organisations, lost updates, memberships, search."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from network.extensions import db
from network.mail import deliver_due
from network.models import AuditLog, Collaboration, Membership, Organisation, OutboxMessage
from tests.conftest import TEST_PASSWORD, text_of

LENGERICH = "05566040"
TECKLENBURG = "05566088"
MUENSTER = "05515000"
RHEINE = "05566076"


def org_form(**overrides):
    data = {
        "kind": "gp_practice",
        "name": "Hausarztpraxis Am Markt",
        "street": "Rathausplatz 1",
        "postcode": "49525",
        "ags": LENGERICH,
        "latitude": "",
        "longitude": "",
        "contact_name": "Dr. Anna Beispiel",
        "contact_email": "praxis@example.org",
        "phone": "05481 1234",
        "website": "www.praxis-am-markt.example",
        "description": "Hausärztliche Versorgung mit Hausbesuchen.",
        "services": "Wundversorgung, Impfungen",
        "staff_count": "8",
        "offers": ["shuttle", "joint_training"],
        "needs": ["placement:ambulatory"],
        "free_tags": "Demenz, Wundversorgung, demenz",
        "visibility": "public",
    }
    data.update(overrides)
    return data


def hidden(body: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', body)
    assert match, f"no hidden field {name}"
    return html.unescape(match.group(1))


def edit_form_values(client, org_id: int, **changes):
    """GET the edit form and return what the browser would post back, with ``changes``."""
    body = client.get(f"/verzeichnis/{org_id}/bearbeiten").get_data(as_text=True)
    org = db.session.get(Organisation, org_id)
    data = org_form(
        kind=org.kind,
        name=org.name,
        street=org.street,
        postcode=org.postcode,
        ags=org.ags,
        contact_name=org.contact_name,
        contact_email=org.contact_email,
        phone=org.phone,
        website=org.website,
        description=org.description,
        services=org.services,
        staff_count="" if org.staff_count is None else str(org.staff_count),
        offers=sorted(org.offers),
        needs=sorted(org.needs),
        free_tags=org.free_tags,
        visibility=org.visibility,
        latitude="",
        longitude="",
    )
    data["version"] = hidden(body, "version")
    data["base"] = hidden(body, "base")
    data.update(changes)
    return data


def login(app, user):
    client = app.test_client()
    response = client.post("/konto/anmelden", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


# --------------------------------------------------------------------------- registering


def test_provider_registers_an_organisation_and_becomes_its_admin(client, login_as):
    user = login_as("provider")
    assert client.get("/verzeichnis/neu").status_code == 200
    response = client.post("/verzeichnis/neu", data=org_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    org = db.session.scalar(sa.select(Organisation).filter_by(name="Hausarztpraxis Am Markt"))
    assert response.headers["Location"].endswith(f"/verzeichnis/{org.id}")
    assert org.offers == {"shuttle", "joint_training"} and org.needs == {"placement:ambulatory"}
    assert org.website == "https://www.praxis-am-markt.example"
    assert org.free_tags == "Demenz, Wundversorgung"
    # No exact point: the municipality's centre.
    assert not org.exact_location
    assert (org.latitude, org.longitude) == (org.municipality.latitude, org.municipality.longitude)
    membership = db.session.get(Membership, (user.id, org.id))
    assert (membership.role, membership.status) == ("admin", "approved")
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="organisation.created"))
    assert entry.actor_id == user.id and entry.details["changes"]["name"] == [
        "",
        "Hausarztpraxis Am Markt",
    ]

    page = client.get(f"/verzeichnis/{org.id}").get_data(as_text=True)
    assert "Fahrdienst/Mobilität" in page and "Praxiseinsatz ambulante Pflege" in page
    assert "Änderungsverlauf" in page


def test_exact_point_is_used_and_must_lie_in_the_muensterland(client, login_as):
    login_as("provider")
    response = client.post("/verzeichnis/neu", data=org_form(latitude="48,137", longitude="11,575"))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "nicht im Münsterland" in body
    assert 'value="Hausarztpraxis Am Markt"' in body  # what was typed is kept
    assert 'value="48,137"' in body

    response = client.post("/verzeichnis/neu", data=org_form(latitude="52,1834", longitude=""))
    assert response.status_code == 422 and "zusammen" in response.get_data(as_text=True)

    response = client.post(
        "/verzeichnis/neu", data=org_form(latitude="52,1834", longitude="7,8653")
    )
    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organisation))
    assert (
        org.exact_location
        and org.latitude == pytest.approx(52.1834)
        and org.longitude == pytest.approx(7.8653)
    )


@pytest.mark.parametrize(
    ("ags", "message"),
    [
        ("123", "genau 8 Ziffern"),
        ("12345678", "Keine Gemeinde im Münsterland"),
        ("", "Bitte wählen Sie die Gemeinde"),
    ],
)
def test_municipality_must_be_a_known_ags(client, login_as, ags, message):
    login_as("provider")
    response = client.post("/verzeichnis/neu", data=org_form(ags=ags))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0


def test_unknown_tag_kind_and_missing_name_are_refused(client, login_as):
    login_as("provider")
    response = client.post(
        "/verzeichnis/neu", data=org_form(offers=["no-such-tag"], kind="castle", name="")
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (
        "Unbekannte Auswahl" in body
        and "Bitte wählen Sie eine Art" in body
        and "Bitte geben Sie den Namen an" in body
    )


def test_duplicate_name_in_the_same_municipality_needs_confirmation(client, login_as, make_org):
    existing = make_org(name="Hausarztpraxis Am Markt", ags=LENGERICH)
    login_as("provider")
    response = client.post("/verzeichnis/neu", data=org_form())
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "gibt es schon" in body and f"/verzeichnis/{existing.id}" in body
    response = client.post("/verzeichnis/neu", data=org_form(confirm_duplicate="y"))
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 2


def test_trainees_cannot_register_organisations(client, login_as):
    login_as("trainee")
    assert client.get("/verzeichnis/neu").status_code == 403
    assert client.post("/verzeichnis/neu", data=org_form()).status_code == 403


# --------------------------------------------------------------------------- editing


def test_editing_someone_elses_organisation_is_refused(app, make_user, make_org):
    owner = make_user("provider")
    org = make_org(members=[owner])
    stranger = make_user("provider")
    client = login(app, stranger)
    assert client.get(f"/verzeichnis/{org.id}/bearbeiten").status_code == 403
    assert (
        client.post(f"/verzeichnis/{org.id}/bearbeiten", data=org_form(version="1")).status_code
        == 403
    )
    assert client.get(f"/verzeichnis/{org.id}/mitglieder").status_code == 403
    assert db.session.get(Organisation, org.id).name == "Testpraxis"

    # A pending request does not allow editing either.
    db.session.add(
        Membership(user_id=stranger.id, organisation_id=org.id, role="member", status="pending")
    )
    db.session.commit()
    assert client.get(f"/verzeichnis/{org.id}/bearbeiten").status_code == 403

    anonymous = app.test_client().get(f"/verzeichnis/{org.id}/bearbeiten")
    assert anonymous.status_code == 302 and "/konto/anmelden" in anonymous.headers["Location"]

    coordinator = login(app, make_user("coordinator"))
    assert coordinator.get(f"/verzeichnis/{org.id}/bearbeiten").status_code == 200


def test_an_edit_records_a_field_diff_shown_as_history(app, make_user, make_org):
    owner = make_user("provider", name="Olga Owner")
    org = make_org(name="Praxis Alt", members=[owner], offers=["shuttle"])
    client = login(app, owner)
    data = edit_form_values(client, org.id, name="Praxis Neu", offers=["shuttle", "childcare"])
    response = client.post(f"/verzeichnis/{org.id}/bearbeiten", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.name == "Praxis Neu" and org.offers == {"shuttle", "childcare"}
    assert org.version == 2
    entry = db.session.scalar(sa.select(AuditLog).filter_by(action="organisation.updated"))
    assert entry.actor_id == owner.id
    assert entry.details["changes"]["name"] == ["Praxis Alt", "Praxis Neu"]
    assert entry.details["changes"]["offers"] == [["shuttle"], ["childcare", "shuttle"]]
    assert set(entry.details["changes"]) == {"name", "offers"}

    page = client.get(f"/verzeichnis/{org.id}").get_data(as_text=True)
    assert (
        "Änderungsverlauf" in page
        and "Olga Owner" in page
        and "Praxis Alt" in page
        and "Kinderbetreuung" in page
    )
    # The history is for members and coordinators only.
    public = app.test_client().get(f"/verzeichnis/{org.id}").get_data(as_text=True)
    assert "Änderungsverlauf" not in public and "Praxis Neu" in public

    # Saving without changes writes nothing.
    data = edit_form_values(client, org.id)
    assert client.post(f"/verzeichnis/{org.id}/bearbeiten", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).version == 2
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .filter_by(action="organisation.updated")
        )
        == 1
    )


def test_lost_update_is_caught_and_shows_both_versions(app, make_user, make_org):
    first, second = (
        make_user("provider", name="Frieda Erste"),
        make_user("provider", name="Sven Zweiter"),
    )
    org = make_org(name="Praxis Sonnenschein", phone="05481 1", members=[first, second])
    alice, bob = login(app, first), login(app, second)
    # Both open the form of version 1.
    alice_form = edit_form_values(alice, org.id, name="Praxis Sonnenschein & Partner")
    bob_form = edit_form_values(
        bob, org.id, phone="05481 999", description="Neue Beschreibung von Sven"
    )
    assert alice_form["version"] == bob_form["version"] == "1"

    assert alice.post(f"/verzeichnis/{org.id}/bearbeiten", data=alice_form).status_code == 302
    response = bob.post(f"/verzeichnis/{org.id}/bearbeiten", data=bob_form)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Diese Organisation wurde zwischenzeitlich von Frieda Erste geändert" in body
    # Both versions side by side: the stored name and Bob's typed values.
    assert re.search(r'data-version="current">\s*Praxis Sonnenschein &amp; Partner', body)
    assert re.search(r'data-version="mine">\s*Praxis Sonnenschein<', body)
    assert "05481 999" in body and "Neue Beschreibung von Sven" in body
    # Nothing of Bob's was written.
    db.session.expire_all()
    stored = db.session.get(Organisation, org.id)
    assert (stored.name, stored.phone, stored.version) == (
        "Praxis Sonnenschein & Partner",
        "05481 1",
        2,
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .filter_by(action="organisation.updated")
        )
        == 1
    )

    # The re-apply form carries the current version and Bob's changes on top of Alice's.
    assert hidden(body, "version") == "2"
    assert 'value="Praxis Sonnenschein &amp; Partner"' in body and 'value="05481 999"' in body
    reapplied = dict(
        bob_form, version="2", base=hidden(body, "base"), name="Praxis Sonnenschein & Partner"
    )
    assert bob.post(f"/verzeichnis/{org.id}/bearbeiten", data=reapplied).status_code == 302
    db.session.expire_all()
    stored = db.session.get(Organisation, org.id)
    assert (stored.name, stored.phone, stored.description) == (
        "Praxis Sonnenschein & Partner",
        "05481 999",
        "Neue Beschreibung von Sven",
    )
    assert stored.version == 3


def test_conflicting_changes_to_the_same_field_are_flagged(app, make_user, make_org):
    first, second = make_user("provider"), make_user("provider")
    org = make_org(name="Praxis A", members=[first, second])
    alice, bob = login(app, first), login(app, second)
    alice_form = edit_form_values(alice, org.id, name="Praxis B")
    bob_form = edit_form_values(bob, org.id, name="Praxis C")
    alice.post(f"/verzeichnis/{org.id}/bearbeiten", data=alice_form)
    response = bob.post(f"/verzeichnis/{org.id}/bearbeiten", data=bob_form)
    body = response.get_data(as_text=True)
    assert response.status_code == 409 and "beide geändert" in body
    assert 'value="Praxis C"' in body  # Bob's input is kept in the form


def test_a_race_between_check_and_write_is_caught_by_the_version_counter(app, make_user, make_org):
    from network.directory import services
    from network.directory.editing import ProfileData

    owner = make_user("provider")
    org = make_org(name="Praxis Race", members=[owner])
    base = services.snapshot(org)
    # Another process commits between our read and our write.
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE organisation SET name = 'Praxis Anders', version = version + 1 WHERE id = :id"
            ),
            {"id": org.id},
        )
    mine = ProfileData.from_snapshot(dict(base, phone="0251 42"))
    with app.test_request_context(), pytest.raises(services.EditConflict) as caught:
        services.update_organisation(org, mine, base_version=1, base_snapshot=base, actor=owner)
    assert (
        caught.value.current["name"] == "Praxis Anders" and caught.value.mine["phone"] == "0251 42"
    )
    assert (
        caught.value.merged["name"] == "Praxis Anders" and caught.value.merged["phone"] == "0251 42"
    )
    db.session.expire_all()
    stored = db.session.get(Organisation, org.id)
    assert (stored.name, stored.phone, stored.version) == ("Praxis Anders", "", 2)


# --------------------------------------------------------------------------- memberships


def test_join_request_is_mailed_to_the_admins_and_approved(app, make_user, make_org, smtp_server):
    admin = make_user("provider", name="Anna Admin")
    org = make_org(name="MVZ Tecklenburger Land", kind="mvz", members=[admin])
    joiner = make_user("provider", name="Jonas Neu")
    client = login(app, joiner)
    response = client.post(f"/verzeichnis/{org.id}/beitreten")
    assert response.status_code == 302
    membership = db.session.get(Membership, (joiner.id, org.id))
    assert (membership.status, membership.role) == ("pending", "member")
    assert client.get(f"/verzeichnis/{org.id}/bearbeiten").status_code == 403
    assert "wartet auf Freigabe" in client.get(f"/verzeichnis/{org.id}").get_data(as_text=True)
    # Asking twice does not create a second request.
    client.post(f"/verzeichnis/{org.id}/beitreten")
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Membership).filter_by(status="pending")
        )
        == 1
    )

    deliver_due()
    [mail] = smtp_server.wait_for(admin.email)
    assert "Beitrittsanfrage" in mail["Subject"] and "Jonas Neu" in text_of(mail)
    assert f"/verzeichnis/{org.id}/mitglieder" in text_of(mail)

    # Another plain member may not decide; the admin may.
    assert client.post(f"/verzeichnis/{org.id}/mitglieder/{joiner.id}/freigeben").status_code == 403
    admin_client = login(app, admin)
    page = admin_client.get(f"/verzeichnis/{org.id}/mitglieder").get_data(as_text=True)
    assert "Jonas Neu" in page and "wartet auf Freigabe" in page
    assert "Jonas Neu" in admin_client.get("/verzeichnis/meine").get_data(as_text=True)
    response = admin_client.post(f"/verzeichnis/{org.id}/mitglieder/{joiner.id}/freigeben")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Membership, (joiner.id, org.id)).status == "approved"
    assert client.get(f"/verzeichnis/{org.id}/bearbeiten").status_code == 200
    deliver_due()
    [welcome] = smtp_server.wait_for(joiner.email)
    assert "Willkommen" in welcome["Subject"]
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert "membership.requested" in actions and "membership.approved" in actions


def test_coordinators_decide_when_an_organisation_has_no_admin(
    app, make_user, make_org, smtp_server
):
    coordinator = make_user("coordinator")
    org = make_org(name="Apotheke ohne Admin", kind="pharmacy")
    joiner = make_user("provider")
    login(app, joiner).post(f"/verzeichnis/{org.id}/beitreten")
    deliver_due()
    smtp_server.wait_for(coordinator.email)
    coordinator_client = login(app, coordinator)
    response = coordinator_client.post(
        f"/verzeichnis/{org.id}/mitglieder/{joiner.id}/ablehnen",
        data={"next": "/verzeichnis/meine"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/verzeichnis/meine"
    )
    assert db.session.get(Membership, (joiner.id, org.id)) is None
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxMessage).filter_by(recipient=joiner.email)
        )
        == 1
    )


def test_my_organisations_lists_memberships(client, login_as, make_org):
    user = login_as("provider")
    make_org(name="Meine Praxis", members=[user])
    page = client.get("/verzeichnis/meine").get_data(as_text=True)
    assert "Meine Praxis" in page and "Administration" in page


# --------------------------------------------------------------------------- profile and visibility


def test_profile_shows_synthetic_badge_source_and_collaborations(client, make_org):
    real = make_org(
        name="Helios Klinik Lengerich",
        kind="hospital",
        source="Krankenhaus-Standortverzeichnis 2020",
    )
    demo = make_org(name="Pflegedienst Erfunden", kind="ambulatory_care", synthetic=True)
    hidden_partner = make_org(name="Geheimer Partner", visibility="members")
    a, b = sorted((real.id, demo.id))
    db.session.add(
        Collaboration(
            org_a_id=a,
            org_b_id=b,
            kind="training",
            status="active",
            confirmed_a=True,
            confirmed_b=True,
        )
    )
    c, d = sorted((real.id, hidden_partner.id))
    db.session.add(Collaboration(org_a_id=c, org_b_id=d, kind="referral", status="active"))
    db.session.commit()
    page = client.get(f"/verzeichnis/{real.id}").get_data(as_text=True)
    assert "Krankenhaus-Standortverzeichnis 2020" in page
    assert "Pflegedienst Erfunden" in page and "Ausbildungsverbund" in page
    assert "Geheimer Partner" not in page and "nicht öffentlichen" in page
    assert "synthetisch" in client.get(f"/verzeichnis/{demo.id}").get_data(as_text=True)
    assert "leaflet-container" not in page and "data-network-map" in page


def test_members_only_organisations_are_hidden_from_anonymous_users(
    app, client, make_user, make_org
):
    make_org(name="Offene Praxis")
    closed = make_org(name="Interne Praxis", visibility="members")
    listing = client.get("/verzeichnis/").get_data(as_text=True)
    assert "Offene Praxis" in listing and "Interne Praxis" not in listing
    response = client.get(f"/verzeichnis/{closed.id}")
    assert response.status_code == 302 and "/konto/anmelden" in response.headers["Location"]
    member = login(app, make_user("trainee"))
    assert "Interne Praxis" in member.get("/verzeichnis/").get_data(as_text=True)
    assert member.get(f"/verzeichnis/{closed.id}").status_code == 200


# --------------------------------------------------------------------------- search


@pytest.fixture
def region(make_org):
    """A few organisations around Tecklenburg, in Münster and in Rheine."""
    return {
        "lengerich": make_org(
            name="Hausarztpraxis Dr. Lindner",
            kind="gp_practice",
            ags=LENGERICH,
            offers=["shuttle"],
            needs=["placement:ambulatory"],
            description="Landarztpraxis mit Lehrpraxis",
        ),
        "tecklenburg": make_org(
            name="Pflegedienst Teuto",
            kind="ambulatory_care",
            ags=TECKLENBURG,
            offers=["placement:ambulatory"],
        ),
        "muenster": make_org(
            name="Gemeinschaftspraxis Aasee", kind="gp_practice", ags=MUENSTER, needs=["shuttle"]
        ),
        "rheine": make_org(
            name="Klinikum Rheine", kind="hospital", ags=RHEINE, offers=["telemedicine"]
        ),
    }


def names(response) -> list[str]:
    return re.findall(
        r'<h3 class="card-title"><a href="/verzeichnis/\d+">([^<]+)</a>',
        response.get_data(as_text=True),
    )


def test_radius_search_from_tecklenburg_sorted_by_distance(client, region):
    response = client.get(f"/verzeichnis/?near={TECKLENBURG}&radius_km=10")
    assert response.status_code == 200
    assert names(response) == ["Pflegedienst Teuto", "Hausarztpraxis Dr. Lindner"]
    assert "2 Organisationen gefunden" in response.get_data(as_text=True)
    assert " km</strong>" in response.get_data(as_text=True)
    assert names(client.get(f"/verzeichnis/?near={TECKLENBURG}&radius_km=10&sort=name")) == [
        "Hausarztpraxis Dr. Lindner",
        "Pflegedienst Teuto",
    ]
    wide = names(client.get(f"/verzeichnis/?near={TECKLENBURG}&radius_km=50"))
    assert set(wide) == {
        "Pflegedienst Teuto",
        "Hausarztpraxis Dr. Lindner",
        "Gemeinschaftspraxis Aasee",
        "Klinikum Rheine",
    }
    # A point instead of a municipality (decimal comma accepted).
    assert names(client.get("/verzeichnis/?lat=52,2194&lon=7,8142&radius_km=3")) == [
        "Pflegedienst Teuto"
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=gp_practice", {"Hausarztpraxis Dr. Lindner", "Gemeinschaftspraxis Aasee"}),
        ("kreis=05566", {"Hausarztpraxis Dr. Lindner", "Pflegedienst Teuto", "Klinikum Rheine"}),
        (
            "model_region=ladbergen-lengerich-lienen-tecklenburg",
            {"Hausarztpraxis Dr. Lindner", "Pflegedienst Teuto"},
        ),
        (f"ags={MUENSTER}", {"Gemeinschaftspraxis Aasee"}),
        ("offers=shuttle&offers=telemedicine", {"Hausarztpraxis Dr. Lindner", "Klinikum Rheine"}),
        ("needs=shuttle", {"Gemeinschaftspraxis Aasee"}),
        ("q=lindner", {"Hausarztpraxis Dr. Lindner"}),
        ("q=praxis", {"Hausarztpraxis Dr. Lindner", "Gemeinschaftspraxis Aasee"}),
        ("q=Lehrpraxis", {"Hausarztpraxis Dr. Lindner"}),
        ("q=praxis+münster", {"Gemeinschaftspraxis Aasee"}),
        ("q=Teuto&kind=hospital", set()),
        ("kreis=05566&model_region=rheine", {"Klinikum Rheine"}),
    ],
)
def test_filters(client, region, query, expected):
    response = client.get(f"/verzeichnis/?{query}")
    assert response.status_code == 200
    assert set(names(response)) == expected


def test_pagination_and_map_view(client, region):
    first = client.get("/verzeichnis/?per_page=3")
    second = client.get("/verzeichnis/?per_page=3&page=2")
    assert len(names(first)) == 3 and len(names(second)) == 1
    assert set(names(first)) | set(names(second)) == {o.name for o in region.values()}
    assert 'rel="next"' in first.get_data(as_text=True)
    body = client.get(f"/verzeichnis/?view=map&near={TECKLENBURG}&radius_km=10").get_data(
        as_text=True
    )
    assert "data-network-map" in body and '"title": "Pflegedienst Teuto"' in body
    assert "<table" in body  # the same organisations as a table


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("radius_km=10", "radius_km"),
        ("lat=52.1", "lon"),
        ("kind=castle", "kind"),
        ("page=0", "page"),
        ("per_page=500", "per_page"),
        ("sort=distance", "sort"),
        ("lat=95&lon=7", "lat"),
    ],
)
def test_bad_search_parameters_are_explained_not_crashing(client, region, query, field):
    response = client.get(f"/verzeichnis/?{query}")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert f'id="f-{field}-error"' in body
    assert "4 Organisationen gefunden" in body  # the page still works, without the bad filter


def test_huge_ids_in_urls_are_not_found(client, login_as):
    login_as("coordinator")
    assert client.get("/verzeichnis/9223372036854775808").status_code == 404
    assert client.get("/verzeichnis/9223372036854775808/bearbeiten").status_code == 404
    assert client.get("/verzeichnis/import/99999999999999999999").status_code == 404
