-- Authentication. A login challenge is a single-use nonce a person signs
-- with their SSH key; only its SHA-256 is kept. A credential is a secret
-- that stands for a person: an API token (kind 'token'), a one-time code
-- for the dashboard's login form ('code') or a dashboard session
-- ('session'); only its SHA-256 is kept too. Times are UTC, written with a
-- fixed width (2006-01-02T15:04:05.000000000Z), so they compare as text.
CREATE TABLE auth_challenges (
	nonce_hash TEXT PRIMARY KEY,
	person     TEXT NOT NULL,
	purpose    TEXT NOT NULL CHECK (purpose IN ('token', 'web')),
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE INDEX auth_challenges_expiry ON auth_challenges (expires_at);

CREATE TABLE auth_credentials (
	id         TEXT PRIMARY KEY,
	hash       TEXT NOT NULL UNIQUE,
	kind       TEXT NOT NULL CHECK (kind IN ('token', 'code', 'session')),
	person     TEXT NOT NULL,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	last_used  TEXT,
	revoked_at TEXT
);
CREATE INDEX auth_credentials_person ON auth_credentials (person, kind);
