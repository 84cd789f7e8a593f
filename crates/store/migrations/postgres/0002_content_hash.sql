-- Content hash of each stored user and group: SHA-256 (hex) of the canonical JSON of the
-- DirectoryUser / DirectoryGroup last written (enabled is not part of it). A re-sync compares
-- it with the hash of the desired object and loads the child rows (attributes, skills,
-- memberships, roles) only of objects whose hash differs. NULL (rows written before this
-- migration) never matches, so those objects are loaded in full and get their hash on the
-- next sync that writes them or finds them unchanged.
ALTER TABLE users ADD COLUMN content_hash TEXT;
ALTER TABLE groups ADD COLUMN content_hash TEXT;
