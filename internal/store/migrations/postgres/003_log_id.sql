-- The log id names this database's audit log: plan files record it with
-- their audit head, so a plan's log in another database is told apart.
-- 32 hex digits from two random UUIDs (PostgreSQL 13 and later).
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('log_id', md5(gen_random_uuid()::text || gen_random_uuid()::text));
