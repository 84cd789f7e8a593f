-- Child rows (attributes, skills, memberships, roles, change-log entries) no longer carry
-- foreign keys to users, groups and sync_runs. The store is their only writer: it inserts
-- them right after their owner in the same transaction, and it never deletes a user, a group
-- or a run (nor a project), so the checks never fail and only cost time: a per-row trigger
-- and a lookup of the parent on every insert (a 24,000-user first sync writes ~270,000 such
-- rows; 128k attribute rows took 1.57 s with the key and 1.06 s without). The ON DELETE
-- CASCADE they carried was never exercised. The indexes that reads use stay.
ALTER TABLE user_attributes DROP CONSTRAINT user_attributes_user_id_fkey;
ALTER TABLE user_skills DROP CONSTRAINT user_skills_user_id_fkey;
ALTER TABLE group_attributes DROP CONSTRAINT group_attributes_group_id_fkey;
ALTER TABLE memberships DROP CONSTRAINT memberships_user_id_fkey;
ALTER TABLE memberships DROP CONSTRAINT memberships_group_id_fkey;
ALTER TABLE user_roles DROP CONSTRAINT user_roles_user_id_fkey;
ALTER TABLE sync_run_changes DROP CONSTRAINT sync_run_changes_run_id_fkey;
