-- Child rows (attributes, skills, memberships, roles, change-log entries) no longer carry
-- foreign keys to users, groups and sync_runs. The store is their only writer: it inserts
-- them right after their owner in the same transaction, and it never deletes a user, a group
-- or a run (nor a project), so the checks never fail and only cost time (a parent lookup per
-- inserted row; a 24,000-user first sync writes ~270,000 such rows). The ON DELETE CASCADE
-- they carried was never exercised.
--
-- SQLite cannot drop a constraint, so each table is rebuilt without it and its rows copied;
-- the indexes that reads use are recreated. No other table references these ones.

CREATE TABLE user_attributes_new (
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    position    INTEGER NOT NULL
);
INSERT INTO user_attributes_new (user_id, name, value, position)
    SELECT user_id, name, value, position FROM user_attributes;
DROP TABLE user_attributes;
ALTER TABLE user_attributes_new RENAME TO user_attributes;
CREATE INDEX user_attributes_user ON user_attributes (user_id);

CREATE TABLE user_skills_new (
    user_id     TEXT NOT NULL,
    skill       TEXT NOT NULL,
    competence  INTEGER NOT NULL,
    PRIMARY KEY (user_id, skill)
);
INSERT INTO user_skills_new (user_id, skill, competence)
    SELECT user_id, skill, competence FROM user_skills;
DROP TABLE user_skills;
ALTER TABLE user_skills_new RENAME TO user_skills;

CREATE TABLE group_attributes_new (
    group_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    position    INTEGER NOT NULL
);
INSERT INTO group_attributes_new (group_id, name, value, position)
    SELECT group_id, name, value, position FROM group_attributes;
DROP TABLE group_attributes;
ALTER TABLE group_attributes_new RENAME TO group_attributes;
CREATE INDEX group_attributes_group ON group_attributes (group_id);

CREATE TABLE memberships_new (
    user_id     TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    PRIMARY KEY (user_id, group_id)
);
INSERT INTO memberships_new (user_id, group_id) SELECT user_id, group_id FROM memberships;
DROP TABLE memberships;
ALTER TABLE memberships_new RENAME TO memberships;
CREATE INDEX memberships_group ON memberships (group_id);

CREATE TABLE user_roles_new (
    user_id     TEXT NOT NULL,
    role        TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
INSERT INTO user_roles_new (user_id, role) SELECT user_id, role FROM user_roles;
DROP TABLE user_roles;
ALTER TABLE user_roles_new RENAME TO user_roles;

CREATE TABLE sync_run_changes_new (
    run_id      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    change      TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
INSERT INTO sync_run_changes_new (run_id, seq, change)
    SELECT run_id, seq, change FROM sync_run_changes;
DROP TABLE sync_run_changes;
ALTER TABLE sync_run_changes_new RENAME TO sync_run_changes;
