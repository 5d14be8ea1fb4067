-- The same schema as SQLite's 001: ids and sequence numbers are 64-bit
-- and given by cascade (the next after the highest, as SQLite's rowids),
-- times stay text (RFC 3339, exactly as written: the audit hashes and
-- signatures cover those strings, so the database must not reformat them).
CREATE TABLE releases (
	id         BIGINT PRIMARY KEY,
	plan       TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('active', 'done', 'aborted')),
	manager    TEXT NOT NULL,
	started_at TEXT NOT NULL,
	ended_at   TEXT,
	reason     TEXT,
	runner     TEXT
);
CREATE INDEX releases_plan ON releases (plan, state);

CREATE TABLE steps (
	release_id BIGINT NOT NULL REFERENCES releases (id),
	idx        INTEGER NOT NULL,
	repo       TEXT NOT NULL,
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	spec       TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'interrupted', 'overridden')),
	actor      TEXT,
	at         TEXT,
	output     TEXT,
	inputs     TEXT,
	runs       INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (release_id, idx)
);

CREATE TABLE locks (
	repo       TEXT PRIMARY KEY,
	release_id BIGINT NOT NULL REFERENCES releases (id),
	plan       TEXT NOT NULL,
	holder     TEXT NOT NULL,
	since      TEXT NOT NULL
);

CREATE TABLE audit (
	seq        BIGINT PRIMARY KEY,
	release_id BIGINT,
	plan       TEXT NOT NULL,
	at         TEXT NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	details    TEXT NOT NULL,
	prev_hash  TEXT NOT NULL,
	hash       TEXT NOT NULL
);
