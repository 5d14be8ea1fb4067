-- What a verification run was asked to verify, resolved (each repo at its
-- commit) with its options, hashed: an identical request made while such
-- a run is queued or running gets that run instead of a second one.
ALTER TABLE verification_runs ADD COLUMN request_key TEXT;
CREATE INDEX verification_runs_request ON verification_runs (request_key, state);
