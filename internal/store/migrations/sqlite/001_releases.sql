CREATE TABLE releases (
	id         INTEGER PRIMARY KEY,
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
	release_id INTEGER NOT NULL REFERENCES releases (id),
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
	release_id INTEGER NOT NULL REFERENCES releases (id),
	plan       TEXT NOT NULL,
	holder     TEXT NOT NULL,
	since      TEXT NOT NULL
);

CREATE TABLE audit (
	seq        INTEGER PRIMARY KEY,
	release_id INTEGER,
	plan       TEXT NOT NULL,
	at         TEXT NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	details    TEXT NOT NULL,
	prev_hash  TEXT NOT NULL,
	hash       TEXT NOT NULL
);
