-- SCIM 2.0 (/scim/v2): resources created through SCIM live in the directory tables under the
-- source `scim` (their external id is their hub id). Their SCIM document (the attributes the
-- directory columns cannot hold: display name, every e-mail with its type, externalId, …) is
-- kept here, one row per user or group; synced users and groups have no row.
CREATE TABLE scim_resources (
    id          TEXT PRIMARY KEY NOT NULL,
    project_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    doc         TEXT NOT NULL,
    version     INTEGER NOT NULL
);
CREATE INDEX scim_resources_project ON scim_resources (project_id, kind);

-- Members of SCIM groups (any user of the project, synced or SCIM-created), in the order the
-- client sent them. Kept apart from `memberships` because an identity sync rewrites a synced
-- user's memberships and would drop them.
CREATE TABLE scim_members (
    group_id    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_members_user ON scim_members (user_id);
