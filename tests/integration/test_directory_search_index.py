"""The full-text objects: ``flask db upgrade`` and ``db.create_all()`` must build the same ones.

The migration runs in a child process (``flask db upgrade``, as an operator would run it) on a
fresh database; its full-text objects are then compared with those of the test database, which
``db.create_all()`` built. Downgrading removes them again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from network.directory.search import is_search_index_object
from network.extensions import db

ROOT = Path(__file__).resolve().parents[2]
SEARCH_INDEX_NAMES = (
    "ix_organisation_search_vector",
    "ix_organisation_search_geo",
    "ix_organisation_search_name",
)


def flask_db(url: str, instance: Path, *args: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, INSTANCE_PATH=str(instance), NETWORK_ENV="testing")
    env["SECRET_KEY"] = "test-secret-key-that-is-long-enough-for-hmac"
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "network", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def sqlite_objects(connection: sa.Connection) -> dict[str, str]:
    rows = connection.execute(
        sa.text(
            "SELECT name, sql FROM sqlite_master WHERE (name LIKE 'organisation_fts%' "
            "OR name LIKE 'ix_organisation_search_%') AND sql IS NOT NULL ORDER BY name"
        )
    )
    return {name: " ".join(sql.split()) for name, sql in rows}


def postgres_objects(connection: sa.Connection) -> dict[str, str]:
    column = connection.execute(
        sa.text(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
            "JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = 'organisation'::regclass AND a.attname = 'search_vector'"
        )
    ).scalar()
    indexes = dict(
        connection.execute(
            sa.text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix_organisation_search_%'"
            )
        ).all()
    )
    return {
        "search_vector": column or "",
        **{name: indexes.get(name, "") for name in SEARCH_INDEX_NAMES},
    }


def test_migration_and_create_all_build_the_same_search_index(app, tmp_path):
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        read = sqlite_objects
        cleanup = None
    else:
        name = f"migr_{uuid.uuid4().hex[:10]}"
        admin_url = db.engine.url.set(database="postgres")
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = db.engine.url.set(database=name).render_as_string(hide_password=False)
        read = postgres_objects

        def cleanup() -> None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    try:
        flask_db(url, tmp_path, "upgrade")
        migrated = sa.create_engine(url)
        with migrated.connect() as connection:
            from_migration = read(connection)
        with db.engine.connect() as connection:
            from_create_all = read(connection)
        assert from_migration == from_create_all
        assert all(from_migration.values()) and len(from_migration) >= 3

        # The migrated index finds what is written after the upgrade, and before it (rebuild).
        with migrated.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO municipality (ags, name, name_official, municipality_type, kreis_ags, kreis, "
                    "latitude, longitude, population, population_date, area_km2, postcode, urbanisation_degree, "
                    "source) VALUES ('05566040', 'Lengerich', 'Lengerich', 'Stadt', '05566', 'Kreis Steinfurt', "
                    "52.18, 7.86, 22000, '2022-05-15', 90.0, '49525', 2, '')"
                )
            )
            connection.execute(
                sa.text(
                    "INSERT INTO organisation (kind, name, street, postcode, ags, latitude, longitude, exact_location, "
                    "contact_name, contact_email, phone, website, description, services, free_tags, visibility, "
                    "synthetic, source, created_at, updated_at, version) VALUES ('gp_practice', "
                    "'Gemeinschaftspraxis Migration', '', '', '05566040', 52.18, 7.86, false, '', '', '', '', "
                    "'Lehrpraxis', '', '', 'public', false, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
                )
            )
            if dialect == "sqlite":
                hits = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM organisation_fts WHERE organisation_fts MATCH '\"lehr\"*'"
                    )
                ).scalar()
                substring = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM organisation_fts_trigram WHERE organisation_fts_trigram MATCH '\"praxis\"'"
                    )
                ).scalar()
                assert (hits, substring) == (1, 1)
            else:
                hits = connection.execute(
                    sa.text(
                        "SELECT count(*) FROM organisation WHERE search_vector @@ to_tsquery('simple', 'lehr:*')"
                    )
                ).scalar()
                assert hits == 1
        migrated.dispose()

        flask_db(url, tmp_path, "downgrade", "0001")
        migrated = sa.create_engine(url)
        with migrated.connect() as connection:
            remaining = read(connection)
            assert not any(remaining.values())
            names = sa.inspect(connection).get_table_names()
            assert not [n for n in names if is_search_index_object(n, "table")]
        migrated.dispose()
    finally:
        if cleanup:
            cleanup()


@pytest.mark.parametrize(
    ("name", "type_", "expected"),
    [
        ("organisation_fts", "table", True),
        ("organisation_fts_trigram_data", "table", True),
        ("organisation", "table", False),
        ("search_vector", "column", True),
        ("ix_organisation_search_vector", "index", True),
        ("ix_organisation_search_geo", "index", True),
        ("ix_organisation_name", "index", False),
    ],
)
def test_objects_outside_the_models_are_recognised(name, type_, expected):
    assert is_search_index_object(name, type_) is expected
