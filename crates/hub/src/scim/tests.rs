//! Unit tests of the filter parser/evaluator and of PATCH application.

mod filter_tests {
    use super::super::filter::*;
    use super::super::schema::{Kind, AGENT_EXTENSION};
    use serde_json::json;
    use serde_json::{Map, Value};

    fn user() -> Map<String, Value> {
        json!({
            "userName": "Alice",
            "displayName": "Alice Smith",
            "active": true,
            "externalId": "X1",
            "emails": [{"value": "alice@work.test", "type": "work", "primary": true},
                       {"value": "a@home.test", "type": "home"}],
            "meta": {"lastModified": "2026-01-02T03:04:05.000000Z"},
            AGENT_EXTENSION: {"agentId": "a1", "skills": [{"name": "Sales", "competence": 5}]},
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    fn eval(text: &str) -> bool {
        match parse(text, Kind::User, true) {
            Ok(f) => matches(&f, &user()),
            Err(e) => panic!("{text}: {}", e.detail),
        }
    }

    #[test]
    fn operators_and_logic() {
        assert!(eval(r#"userName eq "alice""#));
        assert!(eval(r#"USERNAME Eq "ALICE""#));
        assert!(!eval(r#"userName ne "alice""#));
        assert!(eval(r#"displayName co "smi""#));
        assert!(eval(r#"displayName sw "Ali" and active eq true"#));
        assert!(eval(r#"userName eq "bob" or emails.value ew "@home.test""#));
        assert!(eval(r#"not (userName eq "bob")"#));
        assert!(eval(r#"externalId eq "X1" and not (externalId eq "x1")"#));
        assert!(eval("emails pr and displayName pr"));
        assert!(eval(r#"emails[type eq "work" and value co "@work"]"#));
        assert!(!eval(r#"emails[type eq "other"]"#));
        assert!(eval(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#));
        assert!(!eval(r#"meta.lastModified lt "2026-01-02T03:04:05Z""#));
        assert!(eval(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "Alice""#
        ));
        assert!(eval(&format!(r#"{AGENT_EXTENSION}:agentId eq "a1""#)));
        assert!(eval(&format!(
            r#"{AGENT_EXTENSION}:skills[name eq "sales" and competence ge 5]"#
        )));
    }

    #[test]
    fn malformed_or_unknown_filters_are_invalid_filter() {
        for text in [
            "userName",
            r#"userName xx "a""#,
            r#"nickName eq "a""#,
            r#"userName eq "a" and"#,
            r#"(userName eq "a""#,
            r#"userName eq "a"#,
            "userName eq bare",
        ] {
            match parse(text, Kind::User, true) {
                Ok(f) => panic!("{text} parsed as {f:?}"),
                Err(e) => assert_eq!(e.scim_type, Some("invalidFilter"), "{text}"),
            }
        }
    }
}

mod patch_tests {
    use super::super::patch::*;
    use super::super::schema::{Kind, AGENT_EXTENSION, PATCH_OP};
    use super::super::ScimError;
    use serde_json::json;
    use serde_json::{Map, Value};

    fn run(doc: Value, ops: Value) -> Result<Value, ScimError> {
        let mut doc = doc.as_object().cloned().unwrap_or_default();
        let body = json!({"schemas": [PATCH_OP], "Operations": ops});
        apply(
            &mut doc,
            Kind::User,
            body.as_object().unwrap_or(&Map::new()),
        )?;
        Ok(Value::Object(doc))
    }

    #[test]
    fn value_path_replace_add_and_remove() {
        let doc = json!({"userName": "a", "emails": [{"value": "w@x", "type": "work"}, {"value": "h@x", "type": "home"}]});
        let out = run(
            doc.clone(),
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@x"}]),
        )
        .ok();
        assert_eq!(
            out.as_ref().map(|o| o["emails"][0]["value"].clone()),
            Some(json!("new@x"))
        );
        let out = run(
            doc.clone(),
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        )
        .ok();
        assert_eq!(
            out.map(|o| o["emails"].as_array().map(Vec::len)),
            Some(Some(1))
        );
        let out = run(
            json!({"userName": "a"}),
            json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": "w@x"}]),
        )
        .ok();
        assert_eq!(
            out.map(|o| o["emails"].clone()),
            Some(json!([{"type": "work", "value": "w@x"}]))
        );
        let err = run(
            doc,
            json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "x"}]),
        );
        assert_eq!(err.err().and_then(|e| e.scim_type), Some("noTarget"));
    }

    #[test]
    fn no_path_and_extension_paths() {
        let out = run(
            json!({"userName": "a", "active": true}),
            json!([
                {"op": "replace", "value": {"active": false, "displayName": "A"}},
                {"op": "add", "path": format!("{AGENT_EXTENSION}:agentId"), "value": "42"},
                {"op": "add", "path": "name.givenName", "value": "Ann"},
            ]),
        )
        .ok();
        let out = out.unwrap_or_default();
        assert_eq!(out["active"], json!(false));
        assert_eq!(out[AGENT_EXTENSION]["agentId"], json!("42"));
        assert_eq!(out["name"]["givenName"], json!("Ann"));
        let removed = run(out, json!([{"op": "remove", "path": AGENT_EXTENSION}])).ok();
        assert_eq!(
            removed.map(|o| o.get(AGENT_EXTENSION).is_none()),
            Some(true)
        );
        let err = run(json!({}), json!([{"op": "remove"}]));
        assert_eq!(err.err().and_then(|e| e.scim_type), Some("noTarget"));
    }
}
