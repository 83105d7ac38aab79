"""The pure digest rules: sections by role, visibility, the time window, periods."""

from __future__ import annotations

import ast
import doctest
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from network.digest import content, periods
from network.digest.content import (
    MAX_ITEMS,
    AnnouncementFact,
    ApplicationFact,
    CollaborationFact,
    DigestFacts,
    NetworkFigures,
    OrganisationFact,
    OwnOrganisation,
    PositionFact,
    Recipient,
    SuggestionFact,
    build_digest,
    figure_changes,
)

SINCE = datetime(2026, 11, 18, 7, tzinfo=UTC)
UNTIL = datetime(2026, 11, 25, 7, tzinfo=UTC)
INSIDE = datetime(2026, 11, 20, 12, tzinfo=UTC)
BEFORE = datetime(2026, 11, 10, tzinfo=UTC)

# Lengerich and two places around it (coordinates of the town centres).
LENGERICH = (52.1750, 7.8658)
LIENEN = (52.1464, 7.9742)  # about 8 km
BOCHOLT = (51.8388, 6.6153)  # about 92 km

PRAXIS = OwnOrganisation(
    1, "Praxis Lengerich", *LENGERICH, needs=frozenset({"placement:paediatric", "shuttle"})
)
ANNA = Recipient(10, "provider", name="Anna", organisations=(PRAXIS,))
TINA = Recipient(20, "trainee", name="Tina")
KOORD = Recipient(30, "coordinator", name="Koordination")


def org(id_, name, point, *, offers=(), visibility="public", created=INSIDE):
    return OrganisationFact(
        id_,
        name,
        "hospital",
        created_at=created,
        latitude=point[0],
        longitude=point[1],
        visibility=visibility,
        offers=frozenset(offers),
    )


def application(
    id_, organisation_id, *, trainee_id=20, status="received", created=INSIDE, updated=None
):
    return ApplicationFact(
        id_,
        "Pflegefachkraft",
        organisation_id,
        "Praxis",
        status,
        created_at=created,
        updated_at=updated or created,
        trainee_id=trainee_id,
        applicant_name="Tina",
    )


def keys(digest):
    return [s.key for s in digest.sections]


class TestSectionsByRole:
    def test_provider_sees_applications_to_own_organisations_only(self):
        facts = DigestFacts(
            applications=[application(1, organisation_id=1), application(2, organisation_id=99)]
        )
        digest = build_digest(ANNA, facts, SINCE, UNTIL)
        assert keys(digest) == ["applications"]
        assert [a.id for a in digest.section("applications").items] == [1]

    def test_provider_without_organisation_gets_no_provider_sections(self):
        lonely = Recipient(11, "provider")
        facts = DigestFacts(
            applications=[application(1, 1)],
            organisations=[org(5, "Kinderklinik", LIENEN, offers={"placement:paediatric"})],
        )
        assert build_digest(lonely, facts, SINCE, UNTIL).is_empty

    def test_nearby_needs_distance_offer_and_visibility(self):
        facts = DigestFacts(
            organisations=[
                org(5, "Kinderklinik Lienen", LIENEN, offers={"placement:paediatric"}),
                org(6, "Kinderklinik Bocholt", BOCHOLT, offers={"placement:paediatric"}),  # too far
                org(
                    7, "Zahnarzt Lienen", LIENEN, offers={"telemedicine"}
                ),  # offers nothing she needs
                org(1, "Praxis Lengerich", LENGERICH, offers={"shuttle"}),  # her own
                org(8, "Alte Klinik Lienen", LIENEN, offers={"shuttle"}, created=BEFORE),  # not new
            ]
        )
        section = build_digest(ANNA, facts, SINCE, UNTIL).section("nearby")
        assert [n.organisation.id for n in section.items] == [5]
        nearby = section.items[0]
        assert 5 < nearby.distance_km < 12 and nearby.near == "Praxis Lengerich"
        assert nearby.matching_offers == ("placement:paediatric",)

    def test_members_only_organisation_needs_a_logged_in_recipient(self):
        members_only = org(
            5, "Intern", LIENEN, offers={"placement:paediatric"}, visibility="members"
        )
        facts = DigestFacts(organisations=[members_only])
        assert keys(build_digest(ANNA, facts, SINCE, UNTIL)) == ["nearby"]
        outsider = Recipient(10, "provider", organisations=(PRAXIS,), logged_in=False)
        assert build_digest(outsider, facts, SINCE, UNTIL).is_empty
        assert content.may_see_organisation(ANNA, "secret") is False

    def test_provider_sees_accepted_introductions_of_own_organisations(self):
        mine = SuggestionFact(
            1, 1, "Praxis Lengerich", 2, "Pflegedienst", "accepted", reviewed_at=INSIDE
        )
        other = SuggestionFact(2, 3, "Klinik", 4, "Schule", "accepted", reviewed_at=INSIDE)
        still_open = SuggestionFact(
            3, 1, "Praxis Lengerich", 5, "Apotheke", "open", computed_at=INSIDE
        )
        digest = build_digest(
            ANNA, DigestFacts(accepted_suggestions=[mine, other, still_open]), SINCE, UNTIL
        )
        [introduction] = digest.section("introductions").items
        assert (introduction.own_name, introduction.partner_name) == (
            "Praxis Lengerich",
            "Pflegedienst",
        )

    def test_trainee_sees_own_application_changes_and_positions(self):
        facts = DigestFacts(
            applications=[
                application(1, 1, trainee_id=20, status="interview", updated=INSIDE),
                application(
                    2, 1, trainee_id=21, status="accepted", updated=INSIDE
                ),  # someone else's
                application(
                    3, 1, trainee_id=20, status="withdrawn", updated=INSIDE
                ),  # her own doing
            ],
            positions=[
                PositionFact(7, "Ausbildung", "Klinik", created_at=INSIDE, search_name="Pflege"),
                PositionFact(
                    7, "Ausbildung", "Klinik", created_at=INSIDE, search_name="Zweite Suche"
                ),
                PositionFact(8, "Alt", "Klinik", created_at=BEFORE),
            ],
        )
        digest = build_digest(TINA, facts, SINCE, UNTIL)
        assert keys(digest) == ["positions", "application_updates"]
        assert [p.id for p in digest.section("positions").items] == [7]
        assert [a.id for a in digest.section("application_updates").items] == [1]

    def test_trainee_never_gets_provider_or_coordinator_sections(self):
        facts = DigestFacts(
            organisations=[org(5, "Neu", LIENEN, offers={"shuttle"})],
            open_suggestions=[SuggestionFact(1, 1, "a", 2, "b", "open", computed_at=INSIDE)],
            applications=[application(1, 1, trainee_id=99)],
        )
        assert build_digest(TINA, facts, SINCE, UNTIL).is_empty

    def test_coordinator_sees_queue_organisations_collaborations_and_figures(self):
        facts = DigestFacts(
            open_suggestions=[
                SuggestionFact(1, 1, "a", 2, "b", "open", score=0.4, computed_at=INSIDE),
                SuggestionFact(2, 3, "c", 4, "d", "open", score=0.9, computed_at=INSIDE),
                SuggestionFact(3, 5, "e", 6, "f", "open", score=0.9, computed_at=BEFORE),
            ],
            open_suggestion_count=12,
            organisations=[org(5, "Neu", LIENEN, visibility="members")],
            collaborations=[
                CollaborationFact(1, "a", "b", "training", created_at=INSIDE, cross_municipal=True)
            ],
            figures=(NetworkFigures(11, 5, 2), NetworkFigures(10, 4, 1), NetworkFigures(10, 4, 1)),
            applications=[application(1, 1)],
        )
        digest = build_digest(KOORD, facts, SINCE, UNTIL)
        assert keys(digest) == ["suggestions", "organisations", "collaborations", "figures"]
        suggestions = digest.section("suggestions")
        assert [s.id for s in suggestions.items] == [2, 1] and suggestions.extra["open_total"] == 12
        assert [c.key for c in digest.section("figures").items] == [
            "organisations",
            "collaborations",
            "cross_municipal_share",
        ]

    def test_everyone_gets_new_announcements_soonest_event_first(self):
        facts = DigestFacts(
            announcements=[
                AnnouncementFact(1, "Später", INSIDE, event_date=date(2026, 12, 20)),
                AnnouncementFact(2, "Bald", INSIDE, event_date=date(2026, 12, 1)),
                AnnouncementFact(3, "Nur Nachricht", INSIDE),
                AnnouncementFact(4, "Alt", BEFORE),
            ]
        )
        for recipient in (ANNA, TINA, KOORD, Recipient(40, "admin")):
            section = build_digest(recipient, facts, SINCE, UNTIL).section("announcements")
            assert [a.title for a in section.items] == ["Bald", "Später", "Nur Nachricht"]


class TestWindowAndLimits:
    def test_window_excludes_since_and_includes_until(self):
        facts = DigestFacts(
            announcements=[
                AnnouncementFact(1, "am Rand", SINCE),
                AnnouncementFact(2, "genau jetzt", UNTIL),
                AnnouncementFact(3, "Zukunft", UNTIL + timedelta(seconds=1)),
            ]
        )
        [section] = build_digest(TINA, facts, SINCE, UNTIL).sections
        assert [a.id for a in section.items] == [2]

    def test_long_sections_are_cut_but_counted(self):
        many = [AnnouncementFact(i, f"Nr. {i}", INSIDE) for i in range(MAX_ITEMS + 7)]
        [section] = build_digest(TINA, DigestFacts(announcements=many), SINCE, UNTIL).sections
        assert (
            len(section.items) == MAX_ITEMS and section.total == MAX_ITEMS + 7 and section.more == 7
        )
        assert (
            build_digest(TINA, DigestFacts(announcements=many), SINCE, UNTIL).item_count
            == MAX_ITEMS + 7
        )

    def test_inputs_are_not_changed(self):
        items = [
            AnnouncementFact(2, "b", INSIDE, event_date=date(2027, 1, 1)),
            AnnouncementFact(1, "a", INSIDE, event_date=date(2026, 12, 1)),
        ]
        facts = DigestFacts(announcements=items)
        build_digest(TINA, facts, SINCE, UNTIL)
        assert [a.id for a in facts.announcements] == [2, 1]


class TestFigures:
    def test_small_share_changes_are_noise(self):
        assert figure_changes(NetworkFigures(10, 200, 100), NetworkFigures(10, 200, 99)) == ()

    def test_share_of_empty_network_is_zero(self):
        assert NetworkFigures(0, 0, 0).cross_municipal_share == 0.0

    def test_previous_change_is_reported_for_comparison(self):
        [change] = figure_changes(
            NetworkFigures(15, 0, 0), NetworkFigures(10, 0, 0), NetworkFigures(9, 0, 0)
        )
        assert (change.key, change.change, change.previous_change) == ("organisations", 5, 1)


class TestPeriods:
    @pytest.mark.parametrize(
        ("frequency", "day", "key"),
        [
            ("daily", date(2026, 11, 25), "2026-11-25"),
            ("weekly", date(2026, 11, 25), "2026-W48"),
            ("weekly", date(2026, 12, 28), "2026-W53"),
            ("weekly", date(2027, 1, 3), "2026-W53"),
            ("weekly", date(2027, 1, 4), "2027-W01"),
            ("monthly", date(2026, 11, 25), "2026-11"),
        ],
    )
    def test_period_keys(self, frequency, day, key):
        assert periods.period_key(frequency, day) == key

    def test_off_has_no_period(self):
        with pytest.raises(ValueError):
            periods.period_key("off", date(2026, 11, 25))

    def test_scheduled_moment_in_local_time_across_daylight_saving(self):
        berlin = ZoneInfo("Europe/Berlin")
        winter = datetime(2026, 11, 25, 12, tzinfo=berlin)
        moment = periods.scheduled_moment("daily", 0, winter, 7)
        assert moment.utcoffset() == timedelta(hours=1) and moment.hour == 7
        summer = datetime(2026, 7, 1, 12, tzinfo=berlin)
        assert periods.scheduled_moment("daily", 0, summer, 7).utcoffset() == timedelta(hours=2)

    def test_weekly_moment_is_the_chosen_weekday_of_the_iso_week(self):
        wednesday = datetime(2026, 11, 25, 12)
        assert periods.scheduled_moment("weekly", 0, wednesday, 7) == datetime(2026, 11, 23, 7)
        assert periods.scheduled_moment("weekly", 6, wednesday, 7) == datetime(2026, 11, 29, 7)
        assert periods.scheduled_moment("monthly", 3, wednesday, 7) == datetime(2026, 11, 1, 7)

    def test_next_moment(self):
        now = datetime(2026, 11, 25, 9)
        assert periods.next_scheduled_moment(
            "weekly", 0, now, 7, sent_this_period=True
        ) == datetime(2026, 11, 30, 7)
        assert (
            periods.next_scheduled_moment("weekly", 0, now, 7, sent_this_period=False) == now
        )  # overdue
        assert periods.next_scheduled_moment(
            "weekly", 4, now, 7, sent_this_period=False
        ) == datetime(2026, 11, 27, 7)
        assert periods.next_scheduled_moment("off", 0, now, 7, sent_this_period=False) is None


def test_doctests():
    from network.digest import presenter

    for module in (content, periods, presenter):
        failures, _tests = doctest.testmod(module)
        assert failures == 0


@pytest.mark.parametrize("name", ["content.py", "periods.py"])
def test_digest_rules_are_pure(name):
    path = Path(content.__file__).with_name(name)
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"flask", "flask_babel", "sqlalchemy", "werkzeug", "jinja2"}


def test_nearby_box_never_drops_a_point_within_the_radius():
    """Property check against brute force: random points around own organisations anywhere."""
    import random

    from network.matching.geo import haversine_km

    rng = random.Random(7)
    for _ in range(300):
        lat, lon = rng.uniform(-85, 85), rng.uniform(-180, 180)
        own = OwnOrganisation(1, "eigen", lat, lon, needs=frozenset({"x"}))
        candidates = [
            org(
                i + 2,
                f"o{i}",
                (
                    max(-90, min(90, lat + rng.uniform(-0.4, 0.4))),
                    (lon + rng.uniform(-0.8, 0.8) + 180) % 360 - 180,
                ),
                offers={"x"},
            )
            for i in range(MAX_ITEMS)  # a section lists at most MAX_ITEMS
        ]
        digest = build_digest(
            Recipient(9, "provider", organisations=(own,)),
            DigestFacts(organisations=candidates),
            SINCE,
            UNTIL,
        )
        got = (
            {n.organisation.id for n in digest.section("nearby").items}
            if digest.section("nearby")
            else set()
        )
        expected = {
            c.id
            for c in candidates
            if haversine_km(lat, lon, c.latitude, c.longitude) <= content.NEARBY_KM
        }
        assert got == expected
