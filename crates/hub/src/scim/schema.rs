//! The schemas the hub serves: the attributes of User, Group and the agent extension that it
//! stores, exactly as `/Schemas` advertises them (a client that fills what is advertised gets it
//! back unchanged).

use serde_json::{json, Value};

/// Core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The agent extension of User: agentId, phoneExtension, secondaryEmail, skills.
pub const AGENT_EXTENSION: &str = "urn:wfm-importer:params:scim:schemas:extension:agent:2.0:User";
/// `ListResponse` message URN.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// `PatchOp` message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// `SearchRequest` message URN.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The two resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl Kind {
    /// `User` or `Group`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    /// The core schema URN.
    pub fn schema(self) -> &'static str {
        match self {
            Kind::User => USER_SCHEMA,
            Kind::Group => GROUP_SCHEMA,
        }
    }

    /// True when `attr` (with sub-attribute `sub`) exists in this resource type; `extension`
    /// says the path named the agent extension URN.
    pub fn knows(self, extension: bool, attr: &str, sub: Option<&str>) -> bool {
        let attr = attr.to_ascii_lowercase();
        let sub = sub.map(str::to_ascii_lowercase);
        let sub = sub.as_deref();
        let subs_ok = |allowed: &[&str]| sub.is_none_or(|s| allowed.contains(&s));
        if extension {
            return self == Kind::User
                && match attr.as_str() {
                    "agentid" | "phoneextension" | "secondaryemail" => sub.is_none(),
                    "skills" => subs_ok(&["name", "competence"]),
                    _ => false,
                };
        }
        match attr.as_str() {
            "id" | "externalid" => sub.is_none(),
            "meta" => subs_ok(&["created", "lastmodified", "resourcetype", "location"]),
            _ => match self {
                Kind::User => match attr.as_str() {
                    "username" | "displayname" | "active" => sub.is_none(),
                    "name" => subs_ok(&["givenname", "familyname", "formatted"]),
                    "emails" => subs_ok(&["value", "type", "primary"]),
                    "groups" => subs_ok(&["value", "$ref", "display"]),
                    _ => false,
                },
                Kind::Group => match attr.as_str() {
                    "displayname" => sub.is_none(),
                    "members" => subs_ok(&["value", "$ref", "type"]),
                    _ => false,
                },
            },
        }
    }

    /// True for attributes compared case-sensitively (`caseExact`).
    pub fn case_exact(attr: &str, sub: Option<&str>) -> bool {
        let attr = attr.to_ascii_lowercase();
        matches!(attr.as_str(), "id" | "externalid" | "meta")
            || matches!(
                (attr.as_str(), sub.map(str::to_ascii_lowercase).as_deref()),
                ("groups", Some("value" | "$ref")) | ("members", Some("value" | "$ref"))
            )
    }
}

/// One attribute definition of a schema (RFC 7643 §7).
#[allow(clippy::too_many_arguments)]
fn attr(
    name: &str,
    kind: &str,
    multi: bool,
    required: bool,
    mutability: &str,
    uniqueness: &str,
    case_exact: bool,
    description: &str,
    subs: Vec<Value>,
) -> Value {
    let mut a = json!({
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    });
    if !subs.is_empty() {
        a["subAttributes"] = Value::Array(subs);
    }
    a
}

/// A plain read-write string attribute.
fn string(name: &str, description: &str) -> Value {
    attr(
        name,
        "string",
        false,
        false,
        "readWrite",
        "none",
        false,
        description,
        vec![],
    )
}

/// A reference attribute to users or groups.
fn reference(mutability: &str, description: &str, to: &[&str]) -> Value {
    let mut a = attr(
        "$ref",
        "reference",
        false,
        false,
        mutability,
        "none",
        true,
        description,
        vec![],
    );
    a["referenceTypes"] = json!(to);
    a
}

fn with_canonical(mut a: Value, values: Value) -> Value {
    a["canonicalValues"] = values;
    a
}

fn schema(id: &str, name: &str, description: &str, attributes: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
    })
}

/// The User schema.
pub fn user_schema() -> Value {
    let emails = vec![
        string(
            "value",
            "E-mail address; the primary one is the directory e-mail.",
        ),
        with_canonical(
            string("type", "work, home or other."),
            json!(["work", "home", "other"]),
        ),
        attr(
            "primary",
            "boolean",
            false,
            false,
            "readWrite",
            "none",
            false,
            "The primary e-mail.",
            vec![],
        ),
    ];
    let groups = vec![
        attr(
            "value",
            "string",
            false,
            false,
            "readOnly",
            "none",
            true,
            "Group id.",
            vec![],
        ),
        reference("readOnly", "URI of the group.", &["Group"]),
        attr(
            "display",
            "string",
            false,
            false,
            "readOnly",
            "none",
            false,
            "Group name.",
            vec![],
        ),
    ];
    let attributes = vec![
        attr(
            "userName",
            "string",
            false,
            true,
            "readWrite",
            "server",
            false,
            "Unique login name (unique in the project, case-insensitive).",
            vec![],
        ),
        attr(
            "name",
            "complex",
            false,
            false,
            "readWrite",
            "none",
            false,
            "The user's name.",
            vec![
                string("formatted", "Full name for display."),
                string("familyName", "Family name (directory last name)."),
                string("givenName", "Given name (directory first name)."),
            ],
        ),
        string("displayName", "Name for display."),
        attr(
            "active",
            "boolean",
            false,
            false,
            "readWrite",
            "none",
            false,
            "Enabled (true) or disabled (false).",
            vec![],
        ),
        attr(
            "emails",
            "complex",
            true,
            false,
            "readWrite",
            "none",
            false,
            "E-mail addresses.",
            emails,
        ),
        attr(
            "groups",
            "complex",
            true,
            false,
            "readOnly",
            "none",
            false,
            "Groups the user belongs to (directory teams and SCIM groups).",
            groups,
        ),
    ];
    schema(
        USER_SCHEMA,
        "User",
        "User account of the project's directory",
        attributes,
    )
}

/// The Group schema.
pub fn group_schema() -> Value {
    let members = vec![
        attr(
            "value",
            "string",
            false,
            false,
            "immutable",
            "none",
            true,
            "User id.",
            vec![],
        ),
        reference("immutable", "URI of the user.", &["User"]),
        with_canonical(
            attr(
                "type",
                "string",
                false,
                false,
                "immutable",
                "none",
                false,
                "Always User.",
                vec![],
            ),
            json!(["User"]),
        ),
    ];
    let attributes = vec![
        attr(
            "displayName",
            "string",
            false,
            true,
            "readWrite",
            "none",
            false,
            "Group name.",
            vec![],
        ),
        attr(
            "members",
            "complex",
            true,
            false,
            "readWrite",
            "none",
            false,
            "Member users (groups cannot be members).",
            members,
        ),
    ];
    schema(
        GROUP_SCHEMA,
        "Group",
        "Group (team) of the project's directory",
        attributes,
    )
}

/// The agent extension schema.
pub fn agent_schema() -> Value {
    let skills = vec![
        string("name", "Skill name (unique per user)."),
        with_canonical(
            attr(
                "competence",
                "integer",
                false,
                false,
                "readWrite",
                "none",
                false,
                "Competence level, 0 to 255 (UCCX uses 1 to 10).",
                vec![],
            ),
            json!(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]),
        ),
    ];
    let attributes = vec![
        string("agentId", "Contact-centre agent id (UCCX resource userID)."),
        string("phoneExtension", "Agent phone extension."),
        string("secondaryEmail", "Secondary e-mail (CUCM directory URI)."),
        attr(
            "skills",
            "complex",
            true,
            false,
            "readWrite",
            "none",
            false,
            "Skills with competence.",
            skills,
        ),
    ];
    schema(
        AGENT_EXTENSION,
        "AgentUser",
        "Contact-centre agent attributes of a user",
        attributes,
    )
}

/// Every schema, in `/Schemas` order.
pub fn all_schemas() -> Vec<Value> {
    vec![user_schema(), group_schema(), agent_schema()]
}
