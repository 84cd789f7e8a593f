use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

const MINIMAL: &str = r#"
[hub]
url = "https://hub.example.com:8443"
project = "acme"
token = "${HUB_TOKEN}"

[uccx]
host = "uccx.example.com"
username = "admin"
password = "${UCCX_PASSWORD}"
"#;

#[test]
fn env_references_are_expanded_and_secrets_stay_redacted() {
    let env = env_of(&[("HUB_TOKEN", "t0ken"), ("UCCX_PASSWORD", "s3cret")]);
    let cfg = parse_importer(MINIMAL, "importer.toml", &env).unwrap();
    assert_eq!(cfg.hub.token.expose(), "t0ken");
    let uccx = cfg.uccx.unwrap();
    assert_eq!(uccx.password.expose(), "s3cret");
    assert_eq!(uccx.base_url(), "https://uccx.example.com:443");
    assert!(!format!("{uccx:?}").contains("s3cret"));
}

#[test]
fn an_unset_variable_names_the_key_and_the_variable() {
    let env = env_of(&[("HUB_TOKEN", "t")]);
    let err = parse_importer(MINIMAL, "importer.toml", &env).unwrap_err();
    let issues = err.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, "uccx.password");
    assert!(issues[0].message.contains("UCCX_PASSWORD"));
}

#[test]
fn every_unknown_key_is_reported_with_its_path() {
    let text = format!("{MINIMAL}\nhostname = \"x\"\n[sync]\nmax_disable_ration = 0.3\n");
    let env = env_of(&[("HUB_TOKEN", "t"), ("UCCX_PASSWORD", "p")]);
    let err = parse_importer(&text, "importer.toml", &env).unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert!(paths.contains(&"uccx.hostname"), "{paths:?}");
    assert!(paths.contains(&"sync.max_disable_ration"), "{paths:?}");
}

#[test]
fn secrets_can_come_from_files_but_not_twice() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "from-file\n").unwrap();
    let text = MINIMAL.replace(
        "password = \"${UCCX_PASSWORD}\"",
        &format!("password_file = \"{}\"", file.display()),
    );
    let env = env_of(&[("HUB_TOKEN", "t")]);
    let cfg = parse_importer(&text, "importer.toml", &env).unwrap();
    assert_eq!(cfg.uccx.unwrap().password.expose(), "from-file");

    let both = text.replace(
        "username = \"admin\"",
        "username = \"admin\"\npassword = \"x\"",
    );
    let err = parse_importer(&both, "importer.toml", &env).unwrap_err();
    assert_eq!(err.issues()[0].path, "uccx.password_file");
}

#[test]
fn validation_reports_all_problems_at_once() {
    let text = r#"
[hub]
url = "http://hub.example.com"
project = "acme"
token = ""

[sync]
max_disable_ratio = 1.5
role_equivalents = { boss = "admin" }

[uccx]
scheme = "http"
host = ""
username = ""
password = "p"

[cucm]
host = "cucm"
username = "axl"
password = "p"
version = "twelve"
"#;
    let err = parse_importer(text, "importer.toml", &env_of(&[])).unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    for expected in [
        "hub.url",
        "hub.token",
        "sync.max_disable_ratio",
        "sync.role_equivalents.boss",
        "uccx.host",
        "uccx.scheme",
        "uccx.username",
        "cucm.version",
    ] {
        assert!(paths.contains(&expected), "missing {expected} in {paths:?}");
    }
    assert!(err.to_string().contains("importer.toml"));
}

#[test]
fn a_wrong_type_names_its_path() {
    let text = MINIMAL.replace(
        "host = \"uccx.example.com\"",
        "host = \"u\"\nport = \"eighty\"",
    );
    let env = env_of(&[("HUB_TOKEN", "t"), ("UCCX_PASSWORD", "p")]);
    let err = parse_importer(&text, "importer.toml", &env).unwrap_err();
    assert_eq!(err.issues()[0].path, "uccx.port");
}

#[test]
fn broken_toml_is_a_clear_error() {
    let err = parse_importer("[hub\nurl=", "importer.toml", &env_of(&[])).unwrap_err();
    assert!(err.issues()[0].message.contains("not valid TOML"));
}

#[test]
fn dollar_escapes_and_plain_dollars_survive() {
    let env = env_of(&[]);
    assert_eq!(expand_env("a$b", &env).unwrap(), "a$b");
    assert_eq!(expand_env("$${X}", &env).unwrap(), "${X}");
    assert!(expand_env("${X", &env).is_err());
}

#[test]
fn hub_config_requires_tls_and_long_unique_tokens() {
    let text = r#"
[[projects]]
id = "a"
token = "short"

[[projects]]
id = "a"
token = "short"
"#;
    let err = parse_hub(text, "hub.toml", &env_of(&[])).unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert!(paths.contains(&"server.tls_cert"), "{paths:?}");
    assert!(paths.contains(&"projects[1].id"), "{paths:?}");
    assert!(paths.contains(&"projects[0].token"), "{paths:?}");
}

fn examples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples")
}

#[test]
fn the_example_importer_config_parses() {
    let text = std::fs::read_to_string(examples_dir().join("importer.toml")).unwrap();
    let env = env_of(&[
        ("WFM_HUB_TOKEN", "x"),
        ("UCCX_PASSWORD", "x"),
        ("CUCM_PASSWORD", "x"),
        ("UCCX_HR_PASSWORD", "x"),
    ]);
    let cfg = parse_importer(&text, "importer.toml", &env).unwrap();
    assert!(cfg.cucm.is_some());
    assert_eq!(cfg.history.len(), 1);
}

#[test]
fn the_example_hub_config_parses() {
    let text = std::fs::read_to_string(examples_dir().join("hub.toml")).unwrap();
    let env = env_of(&[("WFM_ACME_TOKEN", "0123456789abcdef0123456789abcdef")]);
    let cfg = parse_hub(&text, "hub.toml", &env).unwrap();
    assert_eq!(cfg.projects.len(), 1);
}

#[test]
fn several_sources_need_distinct_ids_and_their_own_credentials() {
    let text = r#"
[hub]
url = "https://hub.example.com"
project = "acme"
token = "t"

[[ucce]]
source_id = "ucce-dc1"
host = "aw1.example.com"
username = "admin"
password = "p"
page_size = 500

[[ucce]]
source_id = "ucce-dc1"
host = "aw2.example.com"
username = "admin@example.com"
password = "p"

[[webex]]
source_id = "webex"
base_url = "https://api.wxcc-us1.cisco.com"
token = "static"
[webex.oauth]
token_url = "https://webexapis.com/v1/access_token"
client_id = "id"
client_secret = "${WEBEX_SECRET}"

[[graph]]
source_id = "teams"
base_url = "https://graph.microsoft.com"
"#;
    let env = env_of(&[("WEBEX_SECRET", "s")]);
    let err = parse_importer(text, "importer.toml", &env).unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    for expected in [
        "ucce[0].username",
        "ucce[0].page_size",
        "ucce[1].source_id",
        "webex[0].token",
        "webex[0].org_id",
        "graph[0].token",
    ] {
        assert!(paths.contains(&expected), "missing {expected} in {paths:?}");
    }
}

#[test]
fn a_cloud_source_with_oauth_parses_and_keeps_the_secret_redacted() {
    let text = r#"
[hub]
url = "https://hub.example.com"
project = "acme"
token = "t"

[[zoom]]
source_id = "zoom"
base_url = "https://api.zoom.us"
page_size = 300
[zoom.oauth]
token_url = "https://zoom.us/oauth/token"
client_id = "cid"
client_secret = "${ZOOM_SECRET}"
"#;
    let env = env_of(&[("ZOOM_SECRET", "zs3cret")]);
    let cfg = parse_importer(text, "importer.toml", &env).unwrap();
    let zoom = &cfg.zoom[0];
    assert_eq!(
        zoom.oauth.as_ref().unwrap().client_secret.expose(),
        "zs3cret"
    );
    assert!(!format!("{zoom:?}").contains("zs3cret"));
    assert!(cfg.uccx.is_none());
}

#[test]
fn the_example_multi_source_config_parses() {
    let text = std::fs::read_to_string(examples_dir().join("importer-multi-source.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("ucce-dc2");
    std::fs::write(&secret, "x\n").unwrap();
    let text = text.replace("/run/secrets/ucce-dc2", &secret.display().to_string());
    let env = env_of(&[
        ("WFM_HUB_TOKEN", "x"),
        ("UCCE_DC1_PASSWORD", "x"),
        ("WEBEX_ORG_ID", "org"),
        ("WEBEX_CLIENT_ID", "id"),
        ("WEBEX_CLIENT_SECRET", "s"),
    ]);
    let cfg = parse_importer(&text, "importer-multi-source.toml", &env).unwrap();
    assert_eq!(cfg.ucce.len(), 2);
    assert_eq!(cfg.webex.len(), 1);
    assert_eq!(cfg.ucce[1].password.expose(), "x");
}

#[test]
fn history_sources_are_validated_with_their_paths() {
    let text = r#"
[hub]
url = "https://hub.example.com:8443"
project = "acme"
token = "t"

[[history]]
source_id = "uccx-hr"
dialect = "uccx"
dsn = "UCCX_HR"
connection_string = "Driver={x};"
time_zone = "Mars/Olympus"
interval_minutes = 20
lookback = "30d"

[[history]]
source_id = "uccx-hr"
dialect = "ucce"
sqlite_path = "x.db"
time_zone = "UTC"
"#;
    let err = parse_importer(text, "importer.toml", &env_of(&[])).unwrap_err();
    let shown = err.to_string();
    for expected in [
        "history[0]: set exactly one of dsn, connection_string",
        "history[0].time_zone: 'Mars/Olympus' is not an IANA time zone",
        "history[0].interval_minutes: must be 15 or 30",
        "history[0].lookback: is longer than 7 days",
        "history[1].source_id: source id 'uccx-hr' is used twice",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in {shown}");
    }
    let wrong = text.replace("\"ucce\"", "\"oracle\"");
    let err = parse_importer(&wrong, "importer.toml", &env_of(&[])).unwrap_err();
    assert!(err
        .to_string()
        .contains("unknown variant `oracle`, expected `uccx` or `ucce`"));
}

#[test]
fn a_history_source_builds_its_odbc_string_with_credentials() {
    let text = r#"
[hub]
url = "https://hub.example.com:8443"
project = "acme"
token = "t"

[[history]]
source_id = "uccx-hr"
dialect = "uccx"
connection_string = "Driver={IBM INFORMIX ODBC DRIVER};Host=uccx1;Database=db_cra"
username = "uccxhruser"
password = "${HR_PASSWORD}"
time_zone = "America/Chicago"
"#;
    let cfg = parse_importer(text, "importer.toml", &env_of(&[("HR_PASSWORD", "p;w")])).unwrap();
    let h = &cfg.history[0];
    assert_eq!(
        h.odbc_connection_string().unwrap(),
        "Driver={IBM INFORMIX ODBC DRIVER};Host=uccx1;Database=db_cra;UID=uccxhruser;PWD={p;w};"
    );
    assert_eq!(h.lookback, std::time::Duration::from_secs(7200));
    assert_eq!(h.interval_minutes, 15);
    assert!(
        !format!("{h:?}").contains("p;w"),
        "password leaked into Debug"
    );
}
