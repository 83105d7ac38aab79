"""The synthetic demo: positions at many synthetic organisations, trainees, the Ladbergen showcase."""

from __future__ import annotations

import sqlalchemy as sa

from network.extensions import db
from network.models import Application, Organisation, Position, TraineeProfile, User
from network.positions import demo, services


def test_demo_positions_trainees_and_the_showcase_from_ladbergen(app, monkeypatch):
    import network.cli
    from network.demo import load_demo

    # Only this area's demo step, so the test does not depend on the others'.
    monkeypatch.setattr(
        network.cli, "_area_modules", lambda suffix: [demo] if suffix == "demo" else []
    )
    summary = load_demo(300, seed=42)

    positions = db.session.scalars(sa.select(Position)).all()
    assert summary.extra["Stellen und Praxiseinsätze (synthetisch)"] == len(positions) > 100
    assert all(p.synthetic for p in positions)
    organisations = {p.organisation_id for p in positions}
    assert len(organisations) > 50
    # Never at a real organisation (the hospitals of the register are real).
    real = set(
        db.session.scalars(sa.select(Organisation.id).where(Organisation.synthetic.is_(False)))
    )
    assert not organisations & real
    kinds = {p.position_type for p in positions}
    assert {"apprenticeship", "placement", "job"} <= kinds
    assert any(p.profession == "mfa" for p in positions)
    in_lengerich = [
        p
        for p in positions
        if p.ags == demo.LENGERICH
        and p.profession == "pflegefachperson"
        and p.position_type == "apprenticeship"
    ]
    assert in_lengerich

    azubi = db.session.scalar(sa.select(User).where(User.email == demo.DEMO_TRAINEE_EMAIL))
    profile = db.session.get(TraineeProfile, azubi.id)
    assert profile.home_ags == demo.LADBERGEN and profile.visible_to_providers
    outcome = services.search_positions(services.default_search_params(profile), seeker=azubi)
    assert outcome.mode == "ranked"
    first = outcome.results[0]
    assert first.position.ags == demo.LENGERICH and first.position.position_type == "apprenticeship"
    texts = [r.text() for r in first.reasons]
    assert any("Wohnung angeboten" in t for t in texts) and any("km entfernt" in t for t in texts)

    trainees = db.session.scalar(sa.select(sa.func.count()).select_from(TraineeProfile))
    assert trainees == summary.extra["Trainee-Profile (synthetisch)"] > 5
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Application))
        == summary.extra["Bewerbungen (synthetisch)"]
        > 0
    )
    # Every position is open to search or filled; none is already past its deadline.
    assert not [p for p in positions if services.is_expired(p)]
