//! XML rendering of UCCX documents: resources tab-indented, teams on one line.

use quick_xml::escape::escape;

use crate::dataset::{ContactCentre, Resource, Team};
use crate::faults::ApiErrorSpec;

const PROLOG: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>";

/// A tiny writer: pretty (tabs, one element per line) or compact (one line).
struct W {
    out: String,
    pretty: bool,
    depth: usize,
}

impl W {
    fn new(pretty: bool) -> Self {
        W {
            out: String::from(PROLOG),
            pretty,
            depth: 0,
        }
    }

    fn line(&mut self) {
        if self.pretty {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push('\t');
            }
        }
    }

    fn tag_start(&mut self, tag: &str, name: Option<&str>) {
        self.line();
        self.out.push('<');
        self.out.push_str(tag);
        if let Some(n) = name {
            self.out.push_str(" name=\"");
            self.out.push_str(&escape(n));
            self.out.push('"');
        }
    }

    fn open(&mut self, tag: &str, name: Option<&str>) {
        self.tag_start(tag, name);
        self.out.push('>');
        self.depth += 1;
    }

    fn close(&mut self, tag: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.line();
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    fn empty(&mut self, tag: &str) {
        self.tag_start(tag, None);
        self.out.push_str("/>");
    }

    fn leaf(&mut self, tag: &str, text: &str) {
        self.tag_start(tag, None);
        self.out.push('>');
        self.out.push_str(&escape(text));
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    /// `<tag name="…"><refURL>…</refURL></tag>`
    fn named_ref(&mut self, tag: &str, name: &str, url: &str) {
        self.open(tag, Some(name));
        self.leaf("refURL", url);
        self.close(tag);
    }

    /// A wrapper of named refs, `<wrapper/>` when empty.
    fn ref_list(&mut self, wrapper: &str, item: &str, refs: &[(String, String)]) {
        if refs.is_empty() {
            self.empty(wrapper);
            return;
        }
        self.open(wrapper, None);
        for (name, url) in refs {
            self.named_ref(item, name, url);
        }
        self.close(wrapper);
    }
}

fn team_refs(base: &str, teams: &[(u32, String)]) -> Vec<(String, String)> {
    teams
        .iter()
        .map(|(id, name)| (name.clone(), format!("{base}/adminapi/team/{id}")))
        .collect()
}

fn write_resource(w: &mut W, base: &str, r: &Resource) {
    w.open("resource", None);
    w.leaf("self", &format!("{base}/adminapi/resource/{}", r.user_id));
    w.leaf("userID", &r.user_id);
    w.leaf("firstName", &r.first_name);
    w.leaf("lastName", &r.last_name);
    w.leaf("extension", &r.extension);
    if let Some(alias) = &r.alias {
        w.leaf("alias", alias);
    }
    if let Some((id, name)) = &r.resource_group {
        w.named_ref(
            "resourceGroup",
            name,
            &format!("{base}/adminapi/resourceGroup/{id}"),
        );
    }
    if r.skills.is_empty() {
        w.empty("skillMap");
    } else {
        w.open("skillMap", None);
        for (name, level, id) in &r.skills {
            w.open("skillCompetency", None);
            w.leaf("competencelevel", &level.to_string());
            w.named_ref(
                "skillNameUriPair",
                name,
                &format!("{base}/adminapi/skill/{id}"),
            );
            w.close("skillCompetency");
        }
        w.close("skillMap");
    }
    w.leaf(
        "autoAvailable",
        if r.auto_available { "true" } else { "false" },
    );
    w.leaf("type", &r.kind.to_string());
    if let Some((id, name)) = &r.team {
        w.named_ref("team", name, &format!("{base}/adminapi/team/{id}"));
    }
    w.ref_list(
        "primarySupervisorOf",
        "supervisorOfTeamName",
        &team_refs(base, &r.primary_supervisor_of),
    );
    w.ref_list(
        "secondarySupervisorOf",
        "supervisorOfTeamName",
        &team_refs(base, &r.secondary_supervisor_of),
    );
    w.close("resource");
}

/// `GET /adminapi/resource`: `<resources>` (or `<resources/>` when empty), tab-indented.
pub fn resource_list(base: &str, list: &[&Resource]) -> String {
    let mut w = W::new(true);
    if list.is_empty() {
        w.empty("resources");
        return w.out;
    }
    w.open("resources", None);
    for r in list {
        write_resource(&mut w, base, r);
    }
    w.close("resources");
    w.out
}

/// `GET /adminapi/resource/{userID}`: one `<resource>` without the wrapper.
pub fn resource_doc(base: &str, r: &Resource) -> String {
    let mut w = W::new(true);
    write_resource(&mut w, base, r);
    w.out
}

/// Supervisor display names by user id ([`ContactCentre::supervisor_names`]).
type Names<'a> = std::collections::HashMap<&'a str, String>;

fn supervisor_ref(base: &str, names: &Names<'_>, user_id: &str) -> (String, String) {
    let name = names
        .get(user_id)
        .cloned()
        .unwrap_or_else(|| user_id.to_string());
    (name, format!("{base}/adminapi/resource/{user_id}"))
}

fn write_team(
    w: &mut W,
    base: &str,
    cc: &ContactCentre,
    names: &Names<'_>,
    t: &Team,
    detail: bool,
) {
    w.open("team", None);
    w.leaf("self", &format!("{base}/adminapi/team/{}", t.team_id));
    w.leaf("teamId", &t.team_id.to_string());
    w.leaf("teamname", &t.name);
    if let Some(p) = &t.primary_supervisor {
        let (name, url) = supervisor_ref(base, names, p);
        w.named_ref("primarySupervisor", &name, &url);
    }
    let secondary: Vec<_> = t
        .secondary_supervisors
        .iter()
        .map(|s| supervisor_ref(base, names, s))
        .collect();
    w.ref_list("secondarySupervisors", "secondrySupervisor", &secondary);
    if detail {
        let members: Vec<_> = cc
            .team_members(t.team_id)
            .map(|r| {
                (
                    r.display_name(),
                    format!("{base}/adminapi/resource/{}", r.user_id),
                )
            })
            .collect();
        w.ref_list("resources", "resource", &members);
        w.empty("csqs");
    }
    w.close("team");
}

/// `GET /adminapi/team`: `<teams>` on one line.
pub fn team_list(base: &str, cc: &ContactCentre, list: &[&Team]) -> String {
    let mut w = W::new(false);
    if list.is_empty() {
        w.empty("teams");
        return w.out;
    }
    w.open("teams", None);
    let names = cc.supervisor_names();
    for t in list {
        write_team(&mut w, base, cc, &names, t, false);
    }
    w.close("teams");
    w.out
}

/// `GET /adminapi/team/{teamId}`: one `<team>` with its `resources` and `csqs`, one line.
pub fn team_doc(base: &str, cc: &ContactCentre, t: &Team) -> String {
    let mut w = W::new(false);
    write_team(&mut w, base, cc, &cc.supervisor_names(), t, true);
    w.out
}

/// `<apiErrors><apiError>…</apiError></apiErrors>`.
pub fn api_errors(errors: &[ApiErrorSpec]) -> String {
    let mut w = W::new(false);
    w.open("apiErrors", None);
    for e in errors {
        w.open("apiError", None);
        w.leaf("errorData", &e.error_data);
        w.leaf("errorMessage", &e.error_message);
        w.leaf("errorType", &e.error_type);
        w.close("apiError");
    }
    w.close("apiErrors");
    w.out
}
