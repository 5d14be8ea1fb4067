-- The log id names this database's audit log: plan files record it with
-- their audit head, so a plan's log in another database is told apart.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('log_id', lower(hex(randomblob(16))));
