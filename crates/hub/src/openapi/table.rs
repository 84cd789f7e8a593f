//! The route table the OpenAPI document is generated from: one row per (method, path) the
//! router serves, naming the handler so that a test can compare the table with the router.

use wfm_protocol::routes as paths;

use crate::routes::adherence as adh;

/// How an operation authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No token (health, metrics, this document).
    None,
    /// A bearer token of the project; the scope is checked by the hub's route policy.
    Bearer,
}

/// What kind of body an operation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// A JSON object (`application/json`).
    Json,
    /// A SCIM JSON object (`application/scim+json` or `application/json`).
    Scim,
    /// A CSV file (`text/csv`).
    Csv,
}

/// What an operation answers on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A JSON object (`application/json`).
    Json,
    /// A JSON array (`application/json`).
    JsonList,
    /// A SCIM JSON object (`application/scim+json`).
    Scim,
    /// CSV text (`text/csv`).
    Csv,
    /// OpenMetrics text.
    Metrics,
    /// A server-sent event stream.
    EventStream,
    /// No content (204).
    Empty,
}

/// One query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Parameter name.
    pub name: &'static str,
    /// JSON Schema type keyword: `string`, `integer`, `boolean`; `date-time`/`date` are strings
    /// with that format.
    pub kind: &'static str,
    /// Whether the operation refuses a request without it.
    pub required: bool,
    /// What it means.
    pub doc: &'static str,
}

/// One documented operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Lowercase HTTP method.
    pub method: &'static str,
    /// Path template with `{id}` segments, as registered in the router.
    pub path: &'static str,
    /// The handler as written in the router (`routes::directory::sync`, `users::list`).
    pub handler: &'static str,
    /// Tag (API area).
    pub tag: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Authentication.
    pub auth: Auth,
    /// Query parameters.
    pub query: &'static [Param],
    /// Request body.
    pub body: BodyKind,
    /// Whether the write needs an `Idempotency-Key` header.
    pub idempotent: bool,
    /// Success status.
    pub ok: u16,
    /// Success body.
    pub answer: Answer,
    /// Route-specific error statuses (401/403/429/503 are added to every authenticated route).
    pub errors: &'static [u16],
}

const fn p(name: &'static str, kind: &'static str, required: bool, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        required,
        doc,
    }
}

const OFFSET: Param = p("offset", "offset", false, "Skip this many (default 0).");
const LIMIT: Param = p(
    "limit",
    "limit",
    false,
    "Page size (default 100, 1 to 1000).",
);
const PAGE: &[Param] = &[OFFSET, LIMIT];
const FROM: Param = p("from", "date-time", true, "Range start (RFC 3339).");
const TO: Param = p("to", "date-time", true, "Range end, exclusive (RFC 3339).");
const AGENT: Param = p("agent", "string", false, "Only this agent id.");
const SOURCE: Param = p("source", "string", false, "Only this importer source id.");

const USER_QUERY: &[Param] = &[
    SOURCE,
    p("username", "string", false, "Exact username."),
    p(
        "group",
        "string",
        false,
        "Only members of this group (hub id).",
    ),
    p(
        "enabled",
        "boolean",
        false,
        "Only enabled (true) or disabled (false) users.",
    ),
    p(
        "q",
        "string",
        false,
        "Case-insensitive substring of username, names or e-mail.",
    ),
    OFFSET,
    LIMIT,
];
const GROUP_QUERY: &[Param] = &[
    SOURCE,
    p("name", "string", false, "Exact group name."),
    OFFSET,
    LIMIT,
];
const INTERVAL_QUERY: &[Param] = &[
    SOURCE,
    p("queue", "string", false, "Comma-separated queue ids."),
    p(
        "from",
        "date-time",
        false,
        "Range start (RFC 3339); or use `date`.",
    ),
    p("to", "date-time", false, "Range end, exclusive (RFC 3339)."),
    p(
        "date",
        "date",
        false,
        "A local day YYYY-MM-DD (with `tz` or the queue's zone).",
    ),
    p(
        "tz",
        "string",
        false,
        "IANA time zone for `date` and `local_start`.",
    ),
];
const MISSING_QUERY: &[Param] = &[
    p("source", "string", true, "The importer source id."),
    FROM,
    TO,
];
const STATE_QUERY: &[Param] = &[SOURCE, AGENT, FROM, TO];
const RANGE_QUERY: &[Param] = &[AGENT, FROM, TO];
const CSV_QUERY: &[Param] = &[
    p(
        "from",
        "date-time",
        false,
        "Range start (RFC 3339, with `to`).",
    ),
    p(
        "to",
        "date-time",
        false,
        "Range end (RFC 3339, with `from`).",
    ),
    p(
        "agents",
        "string",
        false,
        "Comma-separated agents whose entries are replaced.",
    ),
];
const DAILY_QUERY: &[Param] = &[
    p("date", "date", true, "Local date YYYY-MM-DD."),
    p(
        "tz",
        "string",
        false,
        "IANA time zone of the day (default UTC).",
    ),
    p(
        "team",
        "string",
        false,
        "A directory group (hub id or exact name).",
    ),
];
const SCIM_LIST: &[Param] = &[
    p("filter", "string", false, "SCIM filter (RFC 7644 3.4.2.2)."),
    p(
        "startIndex",
        "scim-int",
        false,
        "1-based index of the first result.",
    ),
    p("count", "scim-int", false, "Page size."),
    p("sortBy", "string", false, "Attribute to sort by."),
    p("sortOrder", "string", false, "ascending or descending."),
    p(
        "attributes",
        "string",
        false,
        "Comma-separated attributes to return.",
    ),
    p(
        "excludedAttributes",
        "string",
        false,
        "Comma-separated attributes to leave out.",
    ),
];
const SCIM_ONE: &[Param] = &[
    p(
        "attributes",
        "string",
        false,
        "Comma-separated attributes to return.",
    ),
    p(
        "excludedAttributes",
        "string",
        false,
        "Comma-separated attributes to leave out.",
    ),
];

const fn read(
    path: &'static str,
    handler: &'static str,
    tag: &'static str,
    summary: &'static str,
    query: &'static [Param],
    errors: &'static [u16],
) -> Route {
    Route {
        method: "get",
        path,
        handler,
        tag,
        summary,
        auth: Auth::Bearer,
        query,
        body: BodyKind::None,
        idempotent: false,
        ok: 200,
        answer: Answer::Json,
        errors,
    }
}

const fn write(
    method: &'static str,
    path: &'static str,
    handler: &'static str,
    tag: &'static str,
    summary: &'static str,
    idempotent: bool,
) -> Route {
    Route {
        method,
        path,
        handler,
        tag,
        summary,
        auth: Auth::Bearer,
        query: &[],
        body: BodyKind::Json,
        idempotent,
        ok: 200,
        answer: Answer::Json,
        errors: &[400, 409, 413, 415, 422],
    }
}

const fn scim(
    method: &'static str,
    path: &'static str,
    handler: &'static str,
    summary: &'static str,
    query: &'static [Param],
    body: BodyKind,
    ok: u16,
) -> Route {
    Route {
        method,
        path,
        handler,
        tag: "scim",
        summary,
        auth: Auth::Bearer,
        query,
        body,
        idempotent: false,
        ok,
        answer: if ok == 204 {
            Answer::Empty
        } else {
            Answer::Scim
        },
        errors: &[400, 404, 409, 413, 415],
    }
}

/// The OpenAPI document's own path (no auth).
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

const NO_ERRORS: &[u16] = &[];
const NO_PARAMS: &[Param] = &[];
const QUERY_ERRORS: &[u16] = &[400];
const ID_ERRORS: &[u16] = &[400, 404];
const TEAM_ERRORS: &[u16] = &[400, 404];

/// Every operation the hub serves, in router order.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    write("post", paths::DIRECTORY_SYNC, "routes::directory::sync", "directory", "Apply a directory snapshot of one source", true),
    read(paths::USERS, "routes::directory::list_users", "directory", "List users", USER_QUERY, QUERY_ERRORS),
    read(paths::USER, "routes::directory::get_user", "directory", "One user", NO_PARAMS, ID_ERRORS),
    read(paths::GROUPS, "routes::directory::list_groups", "directory", "List groups", GROUP_QUERY, QUERY_ERRORS),
    read(paths::GROUP, "routes::directory::get_group", "directory", "One group", NO_PARAMS, ID_ERRORS),
    read(paths::ROLES, "routes::directory::roles", "directory", "Role names of the project", NO_PARAMS, NO_ERRORS),
    read(paths::WHOAMI, "routes::directory::whoami", "directory", "The project of the token", NO_PARAMS, NO_ERRORS),
    read(paths::PEOPLE, "routes::people::list_people", "directory", "People linked across sources", PAGE, QUERY_ERRORS),
    read(paths::PEOPLE_CONFLICTS, "routes::people::list_conflicts", "directory", "Person-matching conflicts", PAGE, QUERY_ERRORS),
    read(paths::SYNC_RUNS, "routes::runs::list_runs", "directory", "Sync runs, newest first", PAGE, QUERY_ERRORS),
    read(paths::SYNC_RUN, "routes::runs::get_run", "directory", "One sync run", NO_PARAMS, ID_ERRORS),
    read(paths::SYNC_RUN_CHANGES, "routes::runs::run_changes", "directory", "Changes of one sync run", PAGE, ID_ERRORS),
    write("post", paths::INTERVALS, "routes::intervals::post_batch", "intervals", "Replace a window of 15-minute queue intervals", true),
    read(paths::INTERVALS, "routes::intervals::get_intervals", "intervals", "Queue intervals of a range or day", INTERVAL_QUERY, QUERY_ERRORS),
    Route { answer: Answer::Csv, ..read(paths::INTERVALS_CSV, "routes::intervals::get_intervals_csv", "intervals", "Queue intervals as CSV", INTERVAL_QUERY, QUERY_ERRORS) },
    read(paths::INTERVALS_MISSING, "routes::intervals::get_missing", "intervals", "Intervals a source has not delivered", MISSING_QUERY, QUERY_ERRORS),
    Route { answer: Answer::JsonList, ..read(paths::QUEUES, "routes::intervals::list_queues", "intervals", "Queues with intervals", NO_PARAMS, NO_ERRORS) },
    write("put", paths::REASON_CODES, "routes::states::put_reason_codes", "states", "Replace the reason codes of a source", true),
    Route { answer: Answer::JsonList, ..read(paths::REASON_CODES, "routes::states::get_reason_codes", "states", "Reason codes", NO_PARAMS, NO_ERRORS) },
    write("post", paths::AGENT_STATES, "routes::states::post_states", "states", "Append agent-state events", true),
    Route { answer: Answer::JsonList, ..read(paths::AGENT_STATES, "routes::states::get_states", "states", "Agent-state timeline of a range", STATE_QUERY, QUERY_ERRORS) },
    write("put", adh::SCHEDULES, "routes::adherence::put_schedules", "adherence", "Replace schedule entries", false),
    read(adh::SCHEDULES, "routes::adherence::get_schedules", "adherence", "Schedule entries of a range", RANGE_QUERY, QUERY_ERRORS),
    Route { query: CSV_QUERY, body: BodyKind::Csv, ..write("put", adh::SCHEDULES_CSV, "routes::adherence::put_schedules_csv", "adherence", "Replace schedule entries from CSV", false) },
    read(adh::ADHERENCE, "routes::adherence::daily", "adherence", "Daily adherence per agent", DAILY_QUERY, TEAM_ERRORS),
    write("put", adh::ADHERENCE_RULES, "routes::adherence::put_rules", "adherence", "Replace the adherence rules", false),
    read(adh::ADHERENCE_RULES, "routes::adherence::get_rules", "adherence", "Adherence rules", NO_PARAMS, NO_ERRORS),
    write("post", adh::ADHERENCE_EXCEPTIONS, "routes::adherence::post_exception", "adherence", "Record an adherence exception", false),
    read(adh::ADHERENCE_EXCEPTIONS, "routes::adherence::get_exceptions", "adherence", "Adherence exceptions of a range", RANGE_QUERY, QUERY_ERRORS),
    read(adh::ADHERENCE_REALTIME, "routes::adherence::realtime", "adherence", "Real-time adherence now", &[p("team", "string", false, "A directory group (hub id or exact name).")], TEAM_ERRORS),
    Route { answer: Answer::EventStream, ..read(adh::ADHERENCE_STREAM, "routes::adherence::stream", "adherence", "Real-time adherence as server-sent events", &[p("team", "string", false, "A directory group (hub id or exact name).")], TEAM_ERRORS) },
    Route { ok: 201, errors: &[400, 404, 409, 413, 415, 422], ..write("post", wfm_protocol::bulk::BULK_UPLOADS, "routes::bulk::create_upload", "bulk", "Get a pre-signed upload URL and data key", false) },
    Route { errors: &[400, 404, 409, 410, 413, 415, 422], body: BodyKind::None, ..write("post", wfm_protocol::bulk::BULK_INGEST, "routes::bulk::ingest", "bulk", "Ingest an uploaded object", true) },
    scim("get", "/scim/v2/ServiceProviderConfig", "discovery::service_provider_config", "SCIM service provider configuration", &[], BodyKind::None, 200),
    scim("get", "/scim/v2/Schemas", "discovery::schemas", "SCIM schemas", &[], BodyKind::None, 200),
    scim("get", "/scim/v2/Schemas/{id}", "discovery::schema", "One SCIM schema", &[], BodyKind::None, 200),
    scim("get", "/scim/v2/ResourceTypes", "discovery::resource_types", "SCIM resource types", &[], BodyKind::None, 200),
    scim("get", "/scim/v2/ResourceTypes/{id}", "discovery::resource_type", "One SCIM resource type", &[], BodyKind::None, 200),
    scim("get", "/scim/v2/Users", "users::list", "List SCIM users", SCIM_LIST, BodyKind::None, 200),
    scim("post", "/scim/v2/Users", "users::create", "Create a SCIM user", &[], BodyKind::Scim, 201),
    scim("post", "/scim/v2/Users/.search", "users::search", "Search SCIM users", &[], BodyKind::Scim, 200),
    scim("get", "/scim/v2/Users/{id}", "users::get_one", "One SCIM user", SCIM_ONE, BodyKind::None, 200),
    scim("put", "/scim/v2/Users/{id}", "users::replace", "Replace a SCIM user", &[], BodyKind::Scim, 200),
    scim("patch", "/scim/v2/Users/{id}", "users::patch", "Patch a SCIM user", &[], BodyKind::Scim, 200),
    scim("delete", "/scim/v2/Users/{id}", "users::delete", "Delete a SCIM user", &[], BodyKind::None, 204),
    scim("get", "/scim/v2/Groups", "groups::list", "List SCIM groups", SCIM_LIST, BodyKind::None, 200),
    scim("post", "/scim/v2/Groups", "groups::create", "Create a SCIM group", &[], BodyKind::Scim, 201),
    scim("post", "/scim/v2/Groups/.search", "groups::search", "Search SCIM groups", &[], BodyKind::Scim, 200),
    scim("get", "/scim/v2/Groups/{id}", "groups::get_one", "One SCIM group", SCIM_ONE, BodyKind::None, 200),
    scim("put", "/scim/v2/Groups/{id}", "groups::replace", "Replace a SCIM group", &[], BodyKind::Scim, 200),
    scim("patch", "/scim/v2/Groups/{id}", "groups::patch", "Patch a SCIM group", &[], BodyKind::Scim, 200),
    scim("delete", "/scim/v2/Groups/{id}", "groups::delete", "Delete a SCIM group", &[], BodyKind::None, 204),
    scim("post", "/scim/v2/.search", "list::search_all", "Search users and groups", &[], BodyKind::Scim, 200),
    Route { auth: Auth::None, errors: &[503], ..read(paths::HEALTH, "routes::health", "operations", "Health (pings the store)", NO_PARAMS, NO_ERRORS) },
    Route { auth: Auth::None, answer: Answer::Metrics, ..read(paths::METRICS, "metrics::exposition", "operations", "Prometheus/OpenMetrics exposition", NO_PARAMS, NO_ERRORS) },
    Route { auth: Auth::None, ..read(OPENAPI_PATH, "openapi::document", "operations", "This OpenAPI document", NO_PARAMS, NO_ERRORS) },
];
