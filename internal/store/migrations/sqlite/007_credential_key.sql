-- The SSH public key (its base64 body) whose signature got a credential:
-- a credential holds only while that key is still one of its person's in
-- cascade.yaml, so that removing a stolen key also ends what it got.
-- Credentials made before this column have none and no longer hold.
ALTER TABLE auth_credentials ADD COLUMN key_body TEXT;
