ALTER TABLE releases ADD COLUMN lease_expires TEXT;
