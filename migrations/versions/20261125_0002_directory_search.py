"""directory full-text search

SQLite: FTS5 tables ``organisation_fts`` (words of name, address, contact, description, services,
free tags; prefix indexes) and ``organisation_fts_trigram`` (substrings of the name), both with
external content from ``organisation`` and kept in step by triggers.
PostgreSQL: a generated ``tsvector`` column ``organisation.search_vector`` with a GIN index.
Both: covering indexes ``ix_organisation_search_geo`` (radius searches) and
``ix_organisation_search_name`` (the public list in name order).

The SQL is the same as ``network.directory.search.ensure_search_index`` runs after
``db.create_all()``; ``tests/integration/test_directory_search_index.py`` checks that both paths
create identical objects. These objects are not in the models: the autogenerate comparison must
skip tables named ``organisation_fts*``, the column ``search_vector`` and the indexes
``ix_organisation_search_*`` (``network.directory.search.is_search_index_object``).

Note for later migrations: a batch ("move and copy") migration of ``organisation`` on SQLite
drops the triggers with the old table; re-run the trigger statements of this revision after it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TEXT_COLUMNS = (
    "name",
    "street",
    "postcode",
    "contact_name",
    "description",
    "services",
    "free_tags",
)
_COLS = ", ".join(TEXT_COLUMNS)
_NEW = ", ".join(f"new.{c}" for c in TEXT_COLUMNS)
_OLD = ", ".join(f"old.{c}" for c in TEXT_COLUMNS)

SQLITE_UPGRADE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS organisation_fts USING fts5({_COLS}, "
    "content='organisation', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    f"CREATE TRIGGER IF NOT EXISTS organisation_fts_ai AFTER INSERT ON organisation BEGIN "
    f"INSERT INTO organisation_fts(rowid, {_COLS}) VALUES (new.id, {_NEW}); END",
    f"CREATE TRIGGER IF NOT EXISTS organisation_fts_ad AFTER DELETE ON organisation BEGIN "
    f"INSERT INTO organisation_fts(organisation_fts, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD}); END",
    f"CREATE TRIGGER IF NOT EXISTS organisation_fts_au AFTER UPDATE OF {_COLS} ON organisation BEGIN "
    f"INSERT INTO organisation_fts(organisation_fts, rowid, {_COLS}) VALUES ('delete', old.id, {_OLD}); "
    f"INSERT INTO organisation_fts(rowid, {_COLS}) VALUES (new.id, {_NEW}); END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS organisation_fts_trigram USING fts5(name, "
    "content='organisation', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS organisation_fts_trigram_ai AFTER INSERT ON organisation BEGIN "
    "INSERT INTO organisation_fts_trigram(rowid, name) VALUES (new.id, new.name); END",
    "CREATE TRIGGER IF NOT EXISTS organisation_fts_trigram_ad AFTER DELETE ON organisation BEGIN "
    "INSERT INTO organisation_fts_trigram(organisation_fts_trigram, rowid, name) VALUES ('delete', old.id, old.name); END",
    "CREATE TRIGGER IF NOT EXISTS organisation_fts_trigram_au AFTER UPDATE OF name ON organisation BEGIN "
    "INSERT INTO organisation_fts_trigram(organisation_fts_trigram, rowid, name) VALUES ('delete', old.id, old.name); "
    "INSERT INTO organisation_fts_trigram(rowid, name) VALUES (new.id, new.name); END",
    # Organisations that exist already go into the new index.
    "INSERT INTO organisation_fts(organisation_fts) VALUES ('rebuild')",
    "INSERT INTO organisation_fts_trigram(organisation_fts_trigram) VALUES ('rebuild')",
)
#: Covering indexes for radius searches and the public list in name order (both databases).
SEARCH_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_organisation_search_geo ON organisation (latitude, longitude, kind, visibility)",
    "CREATE INDEX IF NOT EXISTS ix_organisation_search_name ON organisation (visibility, name)",
)
SEARCH_INDEXES_DROP = (
    "DROP INDEX IF EXISTS ix_organisation_search_name",
    "DROP INDEX IF EXISTS ix_organisation_search_geo",
)
SQLITE_DOWNGRADE = SEARCH_INDEXES_DROP + (
    "DROP TRIGGER IF EXISTS organisation_fts_trigram_au",
    "DROP TRIGGER IF EXISTS organisation_fts_trigram_ad",
    "DROP TRIGGER IF EXISTS organisation_fts_trigram_ai",
    "DROP TABLE IF EXISTS organisation_fts_trigram",
    "DROP TRIGGER IF EXISTS organisation_fts_au",
    "DROP TRIGGER IF EXISTS organisation_fts_ad",
    "DROP TRIGGER IF EXISTS organisation_fts_ai",
    "DROP TABLE IF EXISTS organisation_fts",
)

_PG_DOCUMENT = " || ' ' || ".join(f"coalesce({c}, '')" for c in TEXT_COLUMNS)
POSTGRES_UPGRADE = (
    f"ALTER TABLE organisation ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {_PG_DOCUMENT})) STORED",
    "CREATE INDEX IF NOT EXISTS ix_organisation_search_vector ON organisation USING gin (search_vector)",
    *SEARCH_INDEXES,
)
POSTGRES_DOWNGRADE = SEARCH_INDEXES_DROP + (
    "DROP INDEX IF EXISTS ix_organisation_search_vector",
    "ALTER TABLE organisation DROP COLUMN IF EXISTS search_vector",
)


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UPGRADE + SEARCH_INDEXES)
    elif dialect == "postgresql":
        _run(POSTGRES_UPGRADE)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWNGRADE)
    elif dialect == "postgresql":
        _run(POSTGRES_DOWNGRADE)
