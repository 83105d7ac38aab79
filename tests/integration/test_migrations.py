"""Migrations and models agree, on SQLite and on PostgreSQL, and every migration can be undone."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from network.extensions import db
from tests.conftest import make_test_app

#: Database objects that exist on purpose outside the ORM metadata (full-text search).
NON_ORM_PREFIXES = (
    "organisation_fts",
    "ix_organisation_search",
    "organisation_search",
    "search_vector",
)


@pytest.fixture
def empty_database(tmp_path):
    """A brand-new empty database of the dialect under test."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"network_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    return not (name and str(name).startswith(NON_ORM_PREFIXES))


def test_migrations_create_exactly_the_models(empty_database, smtp_server, tmp_path):
    from flask_migrate import downgrade, upgrade

    app = make_test_app(empty_database, smtp_server, INSTANCE_PATH=str(tmp_path))
    with app.app_context():
        upgrade(revision="heads")
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "include_object": _include, "render_as_batch": True},
            )
            differences = compare_metadata(context, db.metadata)
        assert differences == [], f"models and migrations differ: {differences}"

        downgrade(revision="base")
        remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert not {t for t in remaining if not t.startswith(NON_ORM_PREFIXES)}
        upgrade(revision="heads")
        db.engine.dispose()


def test_migration_chain_has_one_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from network import ROOT

    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads, merge them: {heads}"
