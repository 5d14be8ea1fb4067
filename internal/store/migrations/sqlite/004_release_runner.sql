-- Who holds a release's runner lease, precisely enough to tell whether
-- that process still lives: a token that changes with every holder (each
-- write of a runner is made only while the token is still its own), the
-- host, the kernel it runs under (boot id and pid namespace: a pid means
-- the same process only there), its pid and its start time (a reused pid
-- starts later).
ALTER TABLE releases ADD COLUMN lease_token TEXT;
ALTER TABLE releases ADD COLUMN runner_host TEXT;
ALTER TABLE releases ADD COLUMN runner_kernel TEXT;
ALTER TABLE releases ADD COLUMN runner_pid INTEGER;
ALTER TABLE releases ADD COLUMN runner_started TEXT;
