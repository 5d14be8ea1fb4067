-- Verification runs requested of the server, worked as jobs, and their
-- progress. Ids and sequence numbers are given by cascade (the next after
-- the highest); times are text (RFC 3339). A run moves queued -> running
-- -> done | error | canceled; its report is the JSON document
-- `cascade verify --json` prints, written once, with the run's last state.
CREATE TABLE verification_runs (
	id           BIGINT PRIMARY KEY,
	created      TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	upstream     TEXT NOT NULL,
	with_refs    TEXT NOT NULL,
	options      TEXT NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'error', 'canceled')),
	started      TEXT,
	finished     TEXT,
	report       TEXT,
	exit_class   INTEGER,
	conclusion   TEXT,
	reason       TEXT,
	job_id       BIGINT,
	attempts     INTEGER NOT NULL DEFAULT 0,
	-- The process working the run, as the release lease records one: a
	-- token that changes with every holder, the host, kernel, pid and the
	-- pid's start time, and when its lease ends without a heartbeat.
	lease_token   TEXT,
	lease_expires TEXT,
	runner_host   TEXT,
	runner_kernel TEXT,
	runner_pid    BIGINT,
	runner_started TEXT
);
CREATE INDEX verification_runs_state ON verification_runs (state);

-- What happened in a run, in order: run_started, pair_started,
-- pair_finished, run_finished; the payload is JSON.
CREATE TABLE verification_events (
	run_id  BIGINT NOT NULL REFERENCES verification_runs (id),
	seq     BIGINT NOT NULL,
	at      TEXT NOT NULL,
	kind    TEXT NOT NULL,
	-- pair is "REPO STATE" for pair events, else empty: a pair's
	-- pair_finished is written once, even when a resumed run verifies it
	-- again.
	pair    TEXT NOT NULL DEFAULT '',
	payload TEXT NOT NULL,
	PRIMARY KEY (run_id, seq)
);
