//! SCIM 2.0 at /scim/v2 through `app(state)` + `oneshot`: discovery, synced users and groups
//! read-only, SCIM users and groups fully writable, userName uniqueness, filters, paging,
//! attribute projection, PATCH with value paths, project isolation. Every scenario runs on
//! SQLite and on PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{snapshot, Resp, TestHub, TOKEN_A, TOKEN_B};
use serde_json::{json, Value};

const EXT: &str = "urn:wfm-importer:params:scim:schemas:extension:agent:2.0:User";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name(&super::TestHub::sqlite().await).await;
                }

                #[tokio::test]
                async fn postgres() {
                    super::$name(&super::TestHub::postgres().await).await;
                }
            }
        )*
    };
}

both_backends!(
    discovery_and_errors,
    synced_users_are_readable_and_read_only,
    scim_users_crud_and_uniqueness,
    filters_paging_and_projection,
    patch_users_with_value_paths,
    groups_crud_and_members,
    projects_are_isolated,
);

async fn scim(
    hub: &TestHub,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("/scim/v2{path}"))
        .header(header::HOST, "127.0.0.1:8443");
    if let Some(t) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            builder = builder.header(header::CONTENT_TYPE, "application/scim+json");
            Body::from(serde_json::to_vec(&v).unwrap())
        }
        None => Body::empty(),
    };
    hub.send(builder.body(body).unwrap()).await
}

async fn get(hub: &TestHub, path: &str) -> Resp {
    scim(hub, Method::GET, path, Some(TOKEN_A), None).await
}

fn assert_scim_error(resp: &Resp, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(resp.status, status, "{}", resp.text());
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    let body = resp.json();
    assert_eq!(body["schemas"], json!([ERROR]));
    assert_eq!(body["status"], json!(status.as_u16().to_string()));
    assert_eq!(body["scimType"].as_str(), scim_type, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

async fn seed_synced(hub: &TestHub) {
    let body = snapshot(
        "uccx",
        &[
            ("u1", "agent1", "t1"),
            ("u2", "agent2", "t1"),
            ("u3", "boss", "t2"),
        ],
        &[("t1", "Team One"), ("t2", "Team Two")],
    );
    let resp = hub.sync(TOKEN_A, "scim-seed", &body).await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
}

async fn create_user(hub: &TestHub, body: Value) -> Value {
    let resp = scim(hub, Method::POST, "/Users", Some(TOKEN_A), Some(body)).await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
    resp.json()
}

fn user_body(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
        "userName": name,
        "externalId": format!("ext-{name}"),
        "name": {"givenName": "Given", "familyName": name},
        "displayName": format!("Given {name}"),
        "active": true,
        "emails": [{"value": format!("{name}@work.test"), "type": "work", "primary": true},
                   {"value": format!("{name}@home.test"), "type": "home"}],
        EXT: {"agentId": format!("A-{name}"), "phoneExtension": "2001",
              "secondaryEmail": format!("{name}@sip.test"),
              "skills": [{"name": "Billing", "competence": 7}]},
    })
}

async fn discovery_and_errors(hub: &TestHub) {
    let spc = get(hub, "/ServiceProviderConfig").await;
    assert_eq!(spc.status, StatusCode::OK);
    assert_eq!(
        spc.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    assert_eq!(spc.json()["patch"]["supported"], json!(true));
    assert_eq!(spc.json()["filter"]["supported"], json!(true));
    let schemas = get(hub, "/Schemas").await.json();
    assert_eq!(schemas["totalResults"], json!(3));
    let ext = get(hub, &format!("/Schemas/{EXT}")).await;
    assert_eq!(ext.status, StatusCode::OK);
    let names: Vec<Value> = ext.json()["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![
            json!("agentId"),
            json!("phoneExtension"),
            json!("secondaryEmail"),
            json!("skills")
        ]
    );
    let types = get(hub, "/ResourceTypes").await.json();
    assert_eq!(
        types["Resources"][0]["schemaExtensions"][0]["schema"],
        json!(EXT)
    );
    assert_eq!(
        get(hub, "/ResourceTypes/Group").await.json()["endpoint"],
        json!("/Groups")
    );

    assert_scim_error(
        &scim(hub, Method::GET, "/Users", None, None).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    assert_scim_error(
        &scim(hub, Method::GET, "/Users", Some("wrong-token"), None).await,
        StatusCode::UNAUTHORIZED,
        None,
    );
    assert_scim_error(&get(hub, "/Nope").await, StatusCode::NOT_FOUND, None);
    assert_scim_error(
        &get(hub, "/Schemas/urn:nope").await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_scim_error(
        &get(hub, "/Users/does-not-exist").await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_scim_error(
        &scim(
            hub,
            Method::POST,
            "/ServiceProviderConfig",
            Some(TOKEN_A),
            Some(json!({})),
        )
        .await,
        StatusCode::METHOD_NOT_ALLOWED,
        None,
    );
    let raw = Request::builder()
        .method(Method::POST)
        .uri("/scim/v2/Users")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN_A}"))
        .body(Body::from("{not json"))
        .unwrap();
    assert_scim_error(
        &hub.send(raw).await,
        StatusCode::BAD_REQUEST,
        Some("invalidSyntax"),
    );
    let missing = scim(
        hub,
        Method::POST,
        "/Users",
        Some(TOKEN_A),
        Some(json!({"displayName": "x"})),
    )
    .await;
    assert_scim_error(&missing, StatusCode::BAD_REQUEST, Some("invalidValue"));
}

async fn synced_users_are_readable_and_read_only(hub: &TestHub) {
    seed_synced(hub).await;
    let list = get(hub, "/Users").await.json();
    assert_eq!(list["totalResults"], json!(3));
    assert_eq!(list["startIndex"], json!(1));
    let agent = get(hub, "/Users?filter=userName%20eq%20%22AGENT1%22")
        .await
        .json();
    assert_eq!(agent["totalResults"], json!(1), "{agent}");
    let user = &agent["Resources"][0];
    assert_eq!(user["externalId"], json!("u1"));
    assert_eq!(user["name"]["givenName"], json!("First agent1"));
    assert_eq!(user["displayName"], json!("First agent1 Tester"));
    assert_eq!(user["active"], json!(true));
    assert_eq!(
        user["emails"],
        json!([{"value": "agent1@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(user[EXT]["agentId"], json!("agent1"));
    assert_eq!(
        user[EXT]["skills"],
        json!([{"name": "Sales", "competence": 5}])
    );
    assert_eq!(user["groups"][0]["display"], json!("Team One"));
    assert_eq!(user["meta"]["resourceType"], json!("User"));
    let id = user["id"].as_str().unwrap().to_string();
    assert_eq!(
        user["meta"]["location"],
        json!(format!("http://127.0.0.1:8443/scim/v2/Users/{id}"))
    );

    let put = scim(
        hub,
        Method::PUT,
        &format!("/Users/{id}"),
        Some(TOKEN_A),
        Some(user_body("agent1")),
    )
    .await;
    assert_scim_error(&put, StatusCode::FORBIDDEN, None);
    assert!(put.json()["detail"].as_str().unwrap().contains("'uccx'"));
    let patch = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    assert_scim_error(
        &scim(
            hub,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(TOKEN_A),
            Some(patch),
        )
        .await,
        StatusCode::FORBIDDEN,
        None,
    );
    assert_scim_error(
        &scim(
            hub,
            Method::DELETE,
            &format!("/Users/{id}"),
            Some(TOKEN_A),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
        None,
    );
    assert_eq!(
        get(hub, &format!("/Users/{id}")).await.json()["active"],
        json!(true)
    );

    let groups = get(hub, "/Groups?filter=displayName%20eq%20%22Team%20One%22")
        .await
        .json();
    assert_eq!(groups["totalResults"], json!(1));
    assert_eq!(
        groups["Resources"][0]["members"].as_array().map(Vec::len),
        Some(2)
    );
    let gid = groups["Resources"][0]["id"].as_str().unwrap().to_string();
    assert_scim_error(
        &scim(
            hub,
            Method::DELETE,
            &format!("/Groups/{gid}"),
            Some(TOKEN_A),
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
        None,
    );
}

async fn scim_users_crud_and_uniqueness(hub: &TestHub) {
    seed_synced(hub).await;
    let created = create_user(hub, user_body("carol")).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["userName"], json!("carol"));
    assert_eq!(
        created[EXT]["skills"],
        json!([{"name": "Billing", "competence": 7}])
    );
    assert_eq!(
        created["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", EXT])
    );
    assert_eq!(get(hub, &format!("/Users/{id}")).await.json(), created);

    // The directory API shows the SCIM user under the `scim` source.
    let dir = hub
        .get(&format!("/api/v1/users/{id}"), Some(TOKEN_A))
        .await
        .json();
    assert_eq!(dir["source"], json!("scim"));
    assert_eq!(dir["email"], json!("carol@work.test"));
    assert_eq!(dir["attributes"]["agentId"], json!(["A-carol"]));
    assert_eq!(dir["skills"]["Billing"], json!(7));

    // userName is unique in the project, case-insensitively, synced users included.
    for taken in ["CAROL", "agent1"] {
        let dup = scim(
            hub,
            Method::POST,
            "/Users",
            Some(TOKEN_A),
            Some(user_body(taken)),
        )
        .await;
        assert_scim_error(&dup, StatusCode::CONFLICT, Some("uniqueness"));
    }

    let mut replacement = user_body("carol2");
    replacement["active"] = json!(false);
    let replaced = scim(
        hub,
        Method::PUT,
        &format!("/Users/{id}"),
        Some(TOKEN_A),
        Some(replacement),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text());
    assert_eq!(replaced.json()["userName"], json!("carol2"));
    assert_eq!(replaced.json()["active"], json!(false));
    assert_eq!(
        hub.get(&format!("/api/v1/users/{id}"), Some(TOKEN_A))
            .await
            .json()["enabled"],
        json!(false)
    );

    let bad = json!({"userName": "x", EXT: {"skills": [{"name": "S", "competence": 999}]}});
    assert_scim_error(
        &scim(hub, Method::POST, "/Users", Some(TOKEN_A), Some(bad)).await,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );
    let two_primary = json!({"userName": "y", "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]});
    assert_scim_error(
        &scim(
            hub,
            Method::POST,
            "/Users",
            Some(TOKEN_A),
            Some(two_primary),
        )
        .await,
        StatusCode::BAD_REQUEST,
        Some("invalidValue"),
    );

    let deleted = scim(
        hub,
        Method::DELETE,
        &format!("/Users/{id}"),
        Some(TOKEN_A),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_scim_error(
        &get(hub, &format!("/Users/{id}")).await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_eq!(
        hub.get(&format!("/api/v1/users/{id}"), Some(TOKEN_A))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_scim_error(
        &scim(
            hub,
            Method::DELETE,
            &format!("/Users/{id}"),
            Some(TOKEN_A),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        None,
    );
}

async fn total(hub: &TestHub, filter: &str) -> Value {
    let encoded: String = filter
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let resp = get(hub, &format!("/Users?filter={encoded}")).await;
    assert_eq!(resp.status, StatusCode::OK, "{filter}: {}", resp.text());
    resp.json()["totalResults"].clone()
}

async fn filters_paging_and_projection(hub: &TestHub) {
    seed_synced(hub).await;
    create_user(hub, user_body("dora")).await;
    assert_eq!(total(hub, r#"userName eq "dora""#).await, json!(1));
    assert_eq!(total(hub, r#"userName sw "agent""#).await, json!(2));
    assert_eq!(total(hub, r#"displayName co "AGENT""#).await, json!(2));
    assert_eq!(
        total(hub, r#"emails.value ew "@home.test""#).await,
        json!(1)
    );
    assert_eq!(
        total(hub, r#"emails[type eq "work" and value co "dora"]"#).await,
        json!(1)
    );
    assert_eq!(total(hub, r#"externalId eq "u3""#).await, json!(1));
    assert_eq!(total(hub, r#"externalId eq "U3""#).await, json!(0));
    assert_eq!(
        total(hub, "active eq true and displayName pr").await,
        json!(4)
    );
    assert_eq!(
        total(hub, r#"userName eq "boss" or userName eq "dora""#).await,
        json!(2)
    );
    assert_eq!(total(hub, r#"not (userName sw "agent")"#).await, json!(2));
    assert_eq!(
        total(hub, r#"meta.lastModified gt "2000-01-01T00:00:00Z""#).await,
        json!(4)
    );
    assert_eq!(
        total(hub, r#"meta.lastModified lt "2000-01-01T00:00:00Z""#).await,
        json!(0)
    );
    assert_eq!(
        total(hub, &format!(r#"{EXT}:agentId eq "agent2""#)).await,
        json!(1)
    );
    assert_eq!(
        total(hub, &format!(r#"{EXT}:skills[name eq "sales"]"#)).await,
        json!(3)
    );
    assert_eq!(
        total(hub, r#"groups[display eq "Team Two"]"#).await,
        json!(1)
    );
    for bad in [
        "nickName%20eq%20%22x%22",
        "userName%20zz%20%22x%22",
        "userName%20eq",
    ] {
        assert_scim_error(
            &get(hub, &format!("/Users?filter={bad}")).await,
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
        );
    }

    let first = get(hub, "/Users?startIndex=1&count=2").await.json();
    let second = get(hub, "/Users?startIndex=3&count=2").await.json();
    assert_eq!(
        (first["totalResults"].clone(), first["itemsPerPage"].clone()),
        (json!(4), json!(2))
    );
    assert_eq!(second["startIndex"], json!(3));
    assert_eq!(second["itemsPerPage"], json!(2));
    let names: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|p| {
            p["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["userName"].clone())
        })
        .collect();
    assert_eq!(
        names,
        vec![
            json!("agent1"),
            json!("agent2"),
            json!("boss"),
            json!("dora")
        ]
    );
    let none = get(hub, "/Users?count=0").await.json();
    assert_eq!(
        (none["totalResults"].clone(), none["Resources"].clone()),
        (json!(4), json!([]))
    );
    let sorted = get(hub, "/Users?sortBy=userName&sortOrder=descending&count=1")
        .await
        .json();
    assert_eq!(sorted["Resources"][0]["userName"], json!("dora"));

    let only = get(hub, "/Users?attributes=userName,name.givenName&count=1")
        .await
        .json();
    let keys: Vec<&String> = only["Resources"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{only}");
    assert_eq!(
        only["Resources"][0]["name"],
        json!({"givenName": "First agent1"})
    );
    let without = get(
        hub,
        &format!("/Users?excludedAttributes=emails,groups,{EXT}&count=1"),
    )
    .await
    .json();
    let user = without["Resources"][0].as_object().unwrap();
    assert!(
        !user.contains_key("emails") && !user.contains_key("groups") && !user.contains_key(EXT)
    );
    assert!(user.contains_key("id") && user.contains_key("userName"));

    let search = scim(
        hub,
        Method::POST,
        "/Users/.search",
        Some(TOKEN_A),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName eq \"dora\"", "attributes": ["userName"],
        })),
    )
    .await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.text());
    assert_eq!(search.json()["totalResults"], json!(1));
    let root = scim(
        hub,
        Method::POST,
        "/.search",
        Some(TOKEN_A),
        Some(json!({"filter": "displayName sw \"team\""})),
    )
    .await;
    assert_eq!(root.json()["totalResults"], json!(2), "{}", root.text());
}

async fn patch_op(hub: &TestHub, kind: &str, id: &str, ops: Value) -> Resp {
    scim(
        hub,
        Method::PATCH,
        &format!("/{kind}/{id}"),
        Some(TOKEN_A),
        Some(json!({"schemas": [PATCH], "Operations": ops})),
    )
    .await
}

async fn patch_users_with_value_paths(hub: &TestHub) {
    let id = create_user(hub, user_body("erin")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = patch_op(
        hub,
        "Users",
        &id,
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "erin@new.test"},
            {"op": "Add", "path": format!("{EXT}:agentId"), "value": "A-99"},
            {"op": "remove", "path": "emails[type eq \"home\"]"},
            {"op": "replace", "value": {"displayName": "Erin E", "active": false}},
            {"op": "remove", "path": "name.familyName"},
        ]),
    )
    .await;
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
    let user = resp.json();
    assert_eq!(
        user["emails"],
        json!([{"value": "erin@new.test", "type": "work", "primary": true}])
    );
    assert_eq!(user[EXT]["agentId"], json!("A-99"));
    assert_eq!(user["displayName"], json!("Erin E"));
    assert_eq!(user["active"], json!(false));
    assert_eq!(user["name"], json!({"givenName": "Given"}));
    assert_eq!(get(hub, &format!("/Users/{id}")).await.json(), user);
    let dir = hub
        .get(&format!("/api/v1/users/{id}"), Some(TOKEN_A))
        .await
        .json();
    assert_eq!(
        (dir["email"].clone(), dir["enabled"].clone()),
        (json!("erin@new.test"), json!(false))
    );

    let no_match = patch_op(
        hub,
        "Users",
        &id,
        json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x"}]),
    )
    .await;
    assert_scim_error(&no_match, StatusCode::BAD_REQUEST, Some("noTarget"));
    let no_path = patch_op(hub, "Users", &id, json!([{"op": "remove"}])).await;
    assert_scim_error(&no_path, StatusCode::BAD_REQUEST, Some("noTarget"));
    let bad_op = patch_op(hub, "Users", &id, json!([{"op": "move", "path": "active"}])).await;
    assert_scim_error(&bad_op, StatusCode::BAD_REQUEST, Some("invalidSyntax"));
    let no_name = patch_op(
        hub,
        "Users",
        &id,
        json!([{"op": "remove", "path": "userName"}]),
    )
    .await;
    assert_scim_error(&no_name, StatusCode::BAD_REQUEST, Some("invalidValue"));
    // A failed PATCH stores nothing.
    assert_eq!(get(hub, &format!("/Users/{id}")).await.json(), user);
}

async fn groups_crud_and_members(hub: &TestHub) {
    seed_synced(hub).await;
    let synced = get(hub, "/Users?filter=userName%20eq%20%22agent1%22")
        .await
        .json()["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mine = create_user(hub, user_body("finn")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let created = scim(
        hub,
        Method::POST,
        "/Groups",
        Some(TOKEN_A),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Night Shift", "externalId": "ns",
            "members": [{"value": synced, "type": "User"}, {"value": mine}],
        })),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let group = created.json();
    let gid = group["id"].as_str().unwrap().to_string();
    assert_eq!(group["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        group["members"][0]["$ref"],
        json!(format!("http://127.0.0.1:8443/scim/v2/Users/{synced}"))
    );
    let user = get(hub, &format!("/Users/{synced}")).await.json();
    let names: Vec<Value> = user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["display"].clone())
        .collect();
    assert_eq!(names, vec![json!("Night Shift"), json!("Team One")]);

    let removed = patch_op(
        hub,
        "Groups",
        &gid,
        json!([{"op": "remove", "path": format!("members[value eq \"{synced}\"]")}]),
    )
    .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text());
    assert_eq!(
        removed.json()["members"],
        json!([{"value": mine, "$ref": format!("http://127.0.0.1:8443/scim/v2/Users/{mine}"), "type": "User"}])
    );
    let added = patch_op(hub, "Groups", &gid, json!([{"op": "add", "path": "members", "value": [{"value": synced}]},
                                                       {"op": "replace", "path": "displayName", "value": "Late Shift"}])).await;
    assert_eq!(added.json()["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(added.json()["displayName"], json!("Late Shift"));
    let unknown = patch_op(
        hub,
        "Groups",
        &gid,
        json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}]),
    )
    .await;
    assert_scim_error(&unknown, StatusCode::BAD_REQUEST, Some("invalidValue"));
    let nested = scim(
        hub,
        Method::POST,
        "/Groups",
        Some(TOKEN_A),
        Some(json!({"displayName": "G", "members": [{"value": gid, "type": "Group"}]})),
    )
    .await;
    assert_scim_error(&nested, StatusCode::BAD_REQUEST, Some("invalidValue"));
    assert_eq!(total_groups(hub, "members[value eq \"").await, 0);

    // Deleting a SCIM user removes it from SCIM groups.
    assert_eq!(
        scim(
            hub,
            Method::DELETE,
            &format!("/Users/{mine}"),
            Some(TOKEN_A),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let after = get(hub, &format!("/Groups/{gid}")).await.json();
    assert_eq!(after["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        scim(
            hub,
            Method::DELETE,
            &format!("/Groups/{gid}"),
            Some(TOKEN_A),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_scim_error(
        &get(hub, &format!("/Groups/{gid}")).await,
        StatusCode::NOT_FOUND,
        None,
    );
    let user = get(hub, &format!("/Users/{synced}")).await.json();
    assert_eq!(user["groups"].as_array().map(Vec::len), Some(1));
}

/// Groups matching a deliberately malformed filter: always a 400, counted as 0.
async fn total_groups(hub: &TestHub, broken: &str) -> u64 {
    let resp = get(
        hub,
        &format!(
            "/Groups?filter={}",
            broken.replace(' ', "%20").replace('"', "%22")
        ),
    )
    .await;
    assert_scim_error(&resp, StatusCode::BAD_REQUEST, Some("invalidFilter"));
    0
}

async fn projects_are_isolated(hub: &TestHub) {
    let id = create_user(hub, user_body("gina")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = scim(
        hub,
        Method::GET,
        &format!("/Users/{id}"),
        Some(TOKEN_B),
        None,
    )
    .await;
    assert_scim_error(&other, StatusCode::NOT_FOUND, None);
    let del = scim(
        hub,
        Method::DELETE,
        &format!("/Users/{id}"),
        Some(TOKEN_B),
        None,
    )
    .await;
    assert_scim_error(&del, StatusCode::NOT_FOUND, None);
    let list = scim(hub, Method::GET, "/Users", Some(TOKEN_B), None)
        .await
        .json();
    assert_eq!(list["totalResults"], json!(0));
    // The same userName is free in another project.
    let resp = scim(
        hub,
        Method::POST,
        "/Users",
        Some(TOKEN_B),
        Some(user_body("gina")),
    )
    .await;
    assert_eq!(resp.status, StatusCode::CREATED, "{}", resp.text());
}
