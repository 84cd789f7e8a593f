//! The generated contact centre: ground truth shared by the UCCX and AXL emulators.
//!
//! Deterministic for a seed. Resources are `agents` agents (type 1) followed by `supervisors`
//! supervisors (type 2); every resource has a CUCM end user with the same user id.

mod edit;
mod names;

use std::collections::HashSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use names::{DOMAINS, FIRST_NAMES, LANGS, LAST_NAMES};

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetSpec {
    /// Number of agents (resource type 1).
    pub agents: usize,
    /// Number of teams (team ids 1..=teams).
    pub teams: usize,
    /// Number of supervisors (resource type 2), in addition to the agents.
    pub supervisors: usize,
    /// Number of distinct skills.
    pub skills: usize,
    /// Random seed: the same spec always gives the same contact centre.
    pub seed: u64,
    /// Share (0.0..=1.0) of CUCM end users without a `mailid`.
    pub missing_email_share: f64,
}

impl Default for DatasetSpec {
    fn default() -> Self {
        DatasetSpec {
            agents: 400,
            teams: 25,
            supervisors: 40,
            skills: 30,
            seed: 42,
            missing_email_share: 0.0,
        }
    }
}

/// One UCCX resource (agent or supervisor).
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// Login name (`userID`), also the CUCM end-user id.
    pub user_id: String,
    /// First name (may be empty on real systems).
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// IPCC extension, 4 to 7 digits.
    pub extension: String,
    /// Optional alias (absent element when `None`).
    pub alias: Option<String>,
    /// Skills: (skill name, competence level 1..=10, skill id).
    pub skills: Vec<(String, u8, u32)>,
    /// `autoAvailable`.
    pub auto_available: bool,
    /// 1 agent, 2 supervisor.
    pub kind: u8,
    /// Team membership: (team id, team name); `None` for an agent without a team.
    pub team: Option<(u32, String)>,
    /// Teams this resource is the primary supervisor of: (team id, team name).
    pub primary_supervisor_of: Vec<(u32, String)>,
    /// Teams this resource is a secondary supervisor of: (team id, team name).
    pub secondary_supervisor_of: Vec<(u32, String)>,
    /// Optional resource group: (id, name).
    pub resource_group: Option<(u32, String)>,
}

impl Resource {
    /// "First Last", as UCCX renders supervisor names.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

/// One UCCX team.
#[derive(Clone, Debug, PartialEq)]
pub struct Team {
    /// `teamId`.
    pub team_id: u32,
    /// `teamname`.
    pub name: String,
    /// User id of the primary supervisor.
    pub primary_supervisor: Option<String>,
    /// User ids of the secondary supervisors.
    pub secondary_supervisors: Vec<String>,
}

/// One CUCM `enduser` row.
#[derive(Clone, Debug, PartialEq)]
pub struct EndUser {
    /// Bare lowercase GUID.
    pub pkid: String,
    /// User id (same as the UCCX `userID`).
    pub userid: String,
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// E-mail; `None` is SQL NULL.
    pub mailid: Option<String>,
    /// Directory URI; `None` is SQL NULL.
    pub directoryuri: Option<String>,
    /// Status (1 active).
    pub status: u8,
    /// Telephone number.
    pub telephonenumber: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Manager user id.
    pub manager: Option<String>,
    /// Display name.
    pub displayname: Option<String>,
}

/// The whole contact centre: public fields so tests can assert against it and mutate it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContactCentre {
    /// UCCX resources (agents then supervisors).
    pub resources: Vec<Resource>,
    /// UCCX teams.
    pub teams: Vec<Team>,
    /// CUCM end users.
    pub end_users: Vec<EndUser>,
}

fn skill_name(i: usize) -> String {
    let base = format!(
        "{}_{}",
        DOMAINS[i % DOMAINS.len()],
        LANGS[(i / DOMAINS.len()) % LANGS.len()]
    );
    let round = i / (DOMAINS.len() * LANGS.len());
    if round == 0 {
        base
    } else {
        format!("{base}_{}", round + 1)
    }
}

fn team_name(i: usize) -> String {
    format!(
        "{} {:02}",
        DOMAINS[i % DOMAINS.len()],
        i / DOMAINS.len() + 1
    )
}

fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'ä' | 'à' | 'á' => Some('a'),
            'é' | 'è' | 'ë' => Some('e'),
            'ö' | 'ó' => Some('o'),
            'ü' => Some('u'),
            'í' | 'ì' => Some('i'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn guid(rng: &mut StdRng) -> String {
    let a: u128 = rng.gen();
    let h = format!("{a:032x}");
    format!(
        "{}-{}-4{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[16..20],
        &h[20..32]
    )
}

fn digits(mut n: usize) -> u32 {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Generates the contact centre described by `spec` (deterministic for `spec.seed`).
pub fn generate(spec: &DatasetSpec) -> ContactCentre {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let total = spec.agents + spec.supervisors;
    let mut teams: Vec<Team> = (0..spec.teams)
        .map(|i| Team {
            team_id: i as u32 + 1,
            name: team_name(i),
            primary_supervisor: None,
            secondary_supervisors: Vec::new(),
        })
        .collect();
    let skills: Vec<String> = (0..spec.skills).map(skill_name).collect();
    let min_len = (digits(total) + 1).max(4);
    let mut emails: HashSet<String> = HashSet::with_capacity(total);
    let mut resources = Vec::with_capacity(total);
    let mut end_users = Vec::with_capacity(total);
    for i in 0..total {
        let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())].to_string();
        let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())].to_string();
        let initial: String = ascii_slug(&first).chars().take(1).collect();
        let user_id = format!("{initial}{}{:04}", ascii_slug(&last), i + 1);
        let len = rng.gen_range(min_len.min(7)..=7.max(min_len));
        let extension = (10usize.pow(len - 1) + i).to_string();
        let kind = if i < spec.agents { 1 } else { 2 };
        let mut own_skills: Vec<(String, u8, u32)> = Vec::new();
        if !skills.is_empty() {
            for _ in 0..rng.gen_range(1..=5usize.min(skills.len())) {
                let s = rng.gen_range(0..skills.len());
                if own_skills.iter().all(|(_, _, id)| *id != s as u32 + 1) {
                    own_skills.push((skills[s].clone(), rng.gen_range(1..=10), s as u32 + 1));
                }
            }
        }
        let team = if teams.is_empty() || rng.gen_bool(0.02) {
            None
        } else {
            let t = &teams[rng.gen_range(0..teams.len())];
            Some((t.team_id, t.name.clone()))
        };
        let alias = rng.gen_bool(0.3).then(|| ascii_slug(&first));
        let resource_group = rng.gen_bool(0.7).then(|| {
            let g = rng.gen_range(0..DOMAINS.len());
            (g as u32 + 1, format!("RG_{}", DOMAINS[g]))
        });
        let base = format!("{}.{}", ascii_slug(&first), ascii_slug(&last));
        let mut email = format!("{base}@example.com");
        let mut n = 2;
        while !emails.insert(email.clone()) {
            email = format!("{base}{n}@example.com");
            n += 1;
        }
        let has_mail = !rng.gen_bool(spec.missing_email_share.clamp(0.0, 1.0));
        let mailid = has_mail.then(|| email.clone());
        let directoryuri = if has_mail && rng.gen_bool(0.9) {
            Some(email)
        } else {
            None
        };
        let department = team
            .as_ref()
            .map(|(_, name)| name.split(' ').next().unwrap_or_default().to_string());
        end_users.push(EndUser {
            pkid: guid(&mut rng),
            userid: user_id.clone(),
            firstname: first.clone(),
            lastname: last.clone(),
            mailid,
            directoryuri,
            status: 1,
            telephonenumber: Some(extension.clone()),
            department,
            manager: None,
            displayname: Some(format!("{first} {last}")),
        });
        resources.push(Resource {
            user_id,
            first_name: first,
            last_name: last,
            extension,
            alias,
            skills: own_skills,
            auto_available: rng.gen_bool(0.8),
            kind,
            team,
            primary_supervisor_of: Vec::new(),
            secondary_supervisor_of: Vec::new(),
            resource_group,
        });
    }
    assign_supervisors(&mut rng, spec, &mut teams, &mut resources);
    let mut cc = ContactCentre {
        resources,
        teams,
        end_users,
    };
    cc.refresh_managers();
    cc
}

/// Each supervisor supervises 1 to 3 teams (as far as the counts allow).
fn assign_supervisors(
    rng: &mut StdRng,
    spec: &DatasetSpec,
    teams: &mut [Team],
    res: &mut [Resource],
) {
    let s = spec.supervisors;
    if s == 0 || teams.is_empty() {
        return;
    }
    let sup = |k: usize| spec.agents + k;
    let mut load = vec![0usize; s];
    for (i, team) in teams.iter_mut().enumerate() {
        if i >= 3 * s {
            break;
        }
        let k = i % s;
        team.primary_supervisor = Some(res[sup(k)].user_id.clone());
        res[sup(k)]
            .primary_supervisor_of
            .push((team.team_id, team.name.clone()));
        load[k] += 1;
    }
    let t = teams.len();
    for k in 0..s {
        let want = if load[k] == 0 {
            1
        } else {
            usize::from(rng.gen_bool(0.3))
        };
        for _ in 0..want {
            if load[k] >= 3 {
                break;
            }
            let ti = rng.gen_range(0..t);
            let team = &mut teams[ti];
            let uid = res[sup(k)].user_id.clone();
            if team.primary_supervisor.as_ref() == Some(&uid)
                || team.secondary_supervisors.contains(&uid)
            {
                continue;
            }
            team.secondary_supervisors.push(uid);
            res[sup(k)]
                .secondary_supervisor_of
                .push((team.team_id, team.name.clone()));
            load[k] += 1;
        }
        if let Some((id, name)) = res[sup(k)].primary_supervisor_of.first().cloned() {
            res[sup(k)].team = Some((id, name));
        }
    }
}
