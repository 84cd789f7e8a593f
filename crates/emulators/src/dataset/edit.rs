//! Look-ups and consistent mutations of the ground truth, for tests.

use super::{ContactCentre, EndUser, Resource, Team};

impl ContactCentre {
    /// Display names ("First Last") of every resource that supervises a team, by user id: one
    /// pass, so a team list does not scan all resources once per supervisor reference.
    pub fn supervisor_names(&self) -> std::collections::HashMap<&str, String> {
        let wanted: std::collections::HashSet<&str> = self
            .teams
            .iter()
            .flat_map(|t| t.primary_supervisor.iter().chain(&t.secondary_supervisors))
            .map(String::as_str)
            .collect();
        self.resources
            .iter()
            .filter(|r| wanted.contains(r.user_id.as_str()))
            .map(|r| (r.user_id.as_str(), r.display_name()))
            .collect()
    }

    /// The resource with this user id.
    pub fn resource(&self, user_id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.user_id == user_id)
    }

    /// Mutable access to the resource with this user id.
    pub fn resource_mut(&mut self, user_id: &str) -> Option<&mut Resource> {
        self.resources.iter_mut().find(|r| r.user_id == user_id)
    }

    /// The team with this id.
    pub fn team(&self, team_id: u32) -> Option<&Team> {
        self.teams.iter().find(|t| t.team_id == team_id)
    }

    /// The CUCM end user with this user id.
    pub fn end_user(&self, userid: &str) -> Option<&EndUser> {
        self.end_users.iter().find(|u| u.userid == userid)
    }

    /// Mutable access to the CUCM end user with this user id.
    pub fn end_user_mut(&mut self, userid: &str) -> Option<&mut EndUser> {
        self.end_users.iter_mut().find(|u| u.userid == userid)
    }

    /// Members of a team (resources whose `team` is this team).
    pub fn team_members(&self, team_id: u32) -> impl Iterator<Item = &Resource> {
        self.resources
            .iter()
            .filter(move |r| r.team.as_ref().map(|(id, _)| *id) == Some(team_id))
    }

    /// Renames a user id everywhere (resource, end user, team supervisor lists, managers).
    /// Returns false when no resource or end user had `old`.
    pub fn rename_user(&mut self, old: &str, new: &str) -> bool {
        let mut found = false;
        if let Some(r) = self.resource_mut(old) {
            r.user_id = new.to_string();
            found = true;
        }
        if let Some(u) = self.end_user_mut(old) {
            u.userid = new.to_string();
            found = true;
        }
        for t in &mut self.teams {
            if t.primary_supervisor.as_deref() == Some(old) {
                t.primary_supervisor = Some(new.to_string());
            }
            for s in &mut t.secondary_supervisors {
                if s == old {
                    *s = new.to_string();
                }
            }
        }
        for u in &mut self.end_users {
            if u.manager.as_deref() == Some(old) {
                u.manager = Some(new.to_string());
            }
        }
        found
    }

    /// Removes a resource from UCCX (and from team supervisor lists); the CUCM end user stays.
    pub fn remove_resource(&mut self, user_id: &str) -> Option<Resource> {
        let pos = self.resources.iter().position(|r| r.user_id == user_id)?;
        for t in &mut self.teams {
            if t.primary_supervisor.as_deref() == Some(user_id) {
                t.primary_supervisor = None;
            }
            t.secondary_supervisors.retain(|s| s != user_id);
        }
        Some(self.resources.remove(pos))
    }

    /// Removes the CUCM end user with this user id.
    pub fn remove_end_user(&mut self, userid: &str) -> Option<EndUser> {
        let pos = self.end_users.iter().position(|u| u.userid == userid)?;
        Some(self.end_users.remove(pos))
    }

    /// Moves a resource to another team (`None`: no team). False if the user or team is unknown.
    pub fn move_to_team(&mut self, user_id: &str, team_id: Option<u32>) -> bool {
        let team = match team_id {
            Some(id) => match self.team(id) {
                Some(t) => Some((t.team_id, t.name.clone())),
                None => return false,
            },
            None => None,
        };
        match self.resource_mut(user_id) {
            Some(r) => {
                r.team = team;
                self.refresh_managers();
                true
            }
            None => false,
        }
    }

    /// Sets the CUCM `mailid` (and `directoryuri`) of a user to NULL. False if unknown.
    pub fn delete_email(&mut self, userid: &str) -> bool {
        match self.end_user_mut(userid) {
            Some(u) => {
                u.mailid = None;
                u.directoryuri = None;
                true
            }
            None => false,
        }
    }

    /// Sets each end user's `manager` to the primary supervisor of the resource's team.
    pub fn refresh_managers(&mut self) {
        let managers: Vec<(String, Option<String>)> = self
            .resources
            .iter()
            .map(|r| {
                let m = r
                    .team
                    .as_ref()
                    .and_then(|(id, _)| self.team(*id))
                    .and_then(|t| t.primary_supervisor.clone())
                    .filter(|m| *m != r.user_id);
                (r.user_id.clone(), m)
            })
            .collect();
        let index: std::collections::HashMap<&str, &Option<String>> =
            managers.iter().map(|(u, m)| (u.as_str(), m)).collect();
        for u in &mut self.end_users {
            if let Some(m) = index.get(u.userid.as_str()) {
                u.manager = (*m).clone();
            }
        }
    }
}
