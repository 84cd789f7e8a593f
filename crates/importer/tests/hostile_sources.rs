//! Hostile upstream answers (issue 5, "Hostile input") against every XML/JSON decoder of the
//! importer, end to end: a loopback stub plays the upstream (UCCX Admin REST in XML and JSON,
//! CUCM AXL, UCCE ConfigAPI, Finesse reason codes, Webex CC, Zoom, Microsoft Graph), the real
//! `wfm-importer` binary runs one sync against it and a real hub, and every case must end with
//! exit code 1 (no panic, no abort), stderr naming the source and the problem, within a hang
//! guard, the content of /etc/passwd nowhere in the output, no user and no sync run at the hub
//! and no batch in the outbox. A benign control in every rig proves those checks see a delivery.
//!
//! The 100 MB bodies are streamed by the stub (chunked, no `Content-Length`), never held in
//! memory; the response-size cap of the source must be what stops them, and the importer's peak
//! RSS (`VmHWM`) stays well below 100 MB.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::Uri;
use axum::response::Response;
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wfm_hub::server::RunningHub;
use wfm_model::ProjectId;
use wfm_outbox::{Outbox, OutboxConfig, OutboxKey};
use wfm_protocol::UserQuery;
use wfm_store::testing::TestDatabase;

const TOKEN: &str = "hostile-token-0123456789abcdef0123456789abcdef";
const KEY_HEX: &str = "0707070707070707070707070707070707070707070707070707070707070707";
/// A hang guard, not a performance assertion.
const HANG_GUARD: Duration = Duration::from_secs(60);
const HUNDRED_MB: usize = 100 * 1024 * 1024;
/// 2^64 + 1: does not fit any integer field.
const TOO_BIG: &str = "18446744073709551617";

fn project() -> ProjectId {
    ProjectId::new("hostile").unwrap()
}

// ---------------------------------------------------------------------------------------------
// The upstream stub.

/// What the stub answers to one request.
#[derive(Clone)]
enum Answer {
    /// A whole body.
    Body(&'static str, Bytes),
    /// `total` bytes, chunked without `Content-Length`: `head`, then `fill` repeated. Only one
    /// 64 KiB chunk exists in memory.
    Stream {
        content_type: &'static str,
        head: &'static str,
        fill: &'static str,
        total: usize,
    },
    /// `Content-Length` of the whole body, the first half sent, then the connection dropped.
    Cut(&'static str, Bytes),
}

fn body(content_type: &'static str, text: impl Into<Vec<u8>>) -> Answer {
    Answer::Body(content_type, Bytes::from(text.into()))
}

impl Answer {
    fn into_response(self) -> Response {
        let builder = Response::builder().status(200);
        match self {
            Answer::Body(ct, bytes) => builder
                .header(CONTENT_TYPE, ct)
                .body(Body::from(bytes))
                .unwrap(),
            Answer::Stream {
                content_type,
                head,
                fill,
                total,
            } => {
                let chunk = Bytes::from(fill.repeat((64 * 1024) / fill.len()));
                let n = (total - head.len()).div_ceil(chunk.len());
                let chunks = std::iter::once(Bytes::from_static(head.as_bytes()))
                    .chain(std::iter::repeat_n(chunk, n))
                    .map(Ok::<Bytes, std::io::Error>);
                builder
                    .header(CONTENT_TYPE, content_type)
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .unwrap()
            }
            Answer::Cut(ct, bytes) => {
                let first = bytes.slice(..bytes.len() / 2);
                let parts: Vec<Result<Bytes, std::io::Error>> = vec![
                    Ok(first),
                    Err(std::io::Error::other("stub drops the connection")),
                ];
                builder
                    .header(CONTENT_TYPE, ct)
                    .header(CONTENT_LENGTH, bytes.len())
                    .body(Body::from_stream(futures::stream::iter(parts)))
                    .unwrap()
            }
        }
    }
}

/// `responder(path, request body)`.
type Responder = Arc<dyn Fn(&str, &str) -> Answer + Send + Sync>;

#[derive(Clone)]
struct StubState {
    responder: Arc<Mutex<Responder>>,
    hits: Arc<Mutex<Vec<String>>>,
}

struct Stub {
    addr: SocketAddr,
    state: StubState,
}

impl Stub {
    async fn start() -> Stub {
        let state = StubState {
            responder: Arc::new(Mutex::new(Arc::new(|_: &str, _: &str| {
                body("text/plain", "no answer set")
            }))),
            hits: Arc::default(),
        };
        let app = Router::new()
            .fallback(stub_handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Stub { addr, state }
    }

    /// Every request from now on is answered by `f(path, body)`; the hit list is cleared.
    fn answer(&self, f: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) {
        *self.state.responder.lock().unwrap() = Arc::new(f);
        self.state.hits.lock().unwrap().clear();
    }

    fn hits(&self) -> Vec<String> {
        self.state.hits.lock().unwrap().clone()
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn stub_handle(State(s): State<StubState>, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_string();
    s.hits.lock().unwrap().push(path.clone());
    let responder = s.responder.lock().unwrap().clone();
    responder(&path, &String::from_utf8_lossy(&body)).into_response()
}

// ---------------------------------------------------------------------------------------------
// The hub, the binary and the checks.

struct Rig {
    hub: RunningHub,
    db: TestDatabase,
    dir: tempfile::TempDir,
    runs: usize,
    report: Vec<String>,
    failures: Vec<String>,
}

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    peak_rss_kib: Option<u64>,
    data_dir: PathBuf,
}

impl Rig {
    async fn start() -> Rig {
        let db = TestDatabase::sqlite();
        let hub_toml = format!(
            "[server]\nbind = \"127.0.0.1:0\"\nallow_insecure_http = true\n\
             [storage]\nurl = \"{}\"\nmax_connections = 4\n{}\
             [[projects]]\nid = \"hostile\"\ntoken = \"{TOKEN}\"\nroles = [\"agent\", \"supervisor\"]\n",
            db.url(),
            wfm_store::testing::encryption_toml()
        );
        let cfg = wfm_config::parse_hub(&hub_toml, "hub.toml", &|_| None).unwrap();
        let hub = wfm_hub::server::start(cfg).await.unwrap();
        Rig {
            hub,
            db,
            dir: tempfile::tempdir().unwrap(),
            runs: 0,
            report: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Runs the binary with `sources` (TOML tables) in a fresh data directory.
    async fn run(&mut self, sources: &str, args: &[&str]) -> Outcome {
        self.runs += 1;
        let case_dir = self.dir.path().join(format!("run-{}", self.runs));
        std::fs::create_dir_all(&case_dir).unwrap();
        let data_dir = case_dir.join("data");
        let toml = format!(
            "[importer]\ndata_dir = \"{}\"\n\
             [hub]\nurl = \"{}\"\nproject = \"hostile\"\ntoken = \"{TOKEN}\"\nallow_insecure_http = true\ntimeout = \"20s\"\n\
             [outbox]\nkey = \"{KEY_HEX}\"\n{sources}\n",
            data_dir.display(),
            self.hub.base_url(),
        );
        let config = case_dir.join("importer.toml");
        std::fs::write(&config, toml).unwrap();
        let started = Instant::now();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wfm-importer"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .current_dir(&case_dir)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let watcher = tokio::spawn(async move {
            let mut peak = None;
            while let Ok(status) = tokio::fs::read_to_string(format!("/proc/{pid}/status")).await {
                let Some(kib) = vm_hwm_kib(&status) else {
                    break; // a zombie: exited
                };
                peak = Some(kib);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        });
        let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("wfm-importer {args:?} still running after {HANG_GUARD:?}"))
            .unwrap();
        let elapsed = started.elapsed();
        let peak_rss_kib = watcher.await.unwrap();
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
            peak_rss_kib,
            data_dir,
        }
    }

    async fn users(&self) -> u64 {
        self.hub
            .store
            .list_users(&project(), &UserQuery::default())
            .await
            .unwrap()
            .total
    }

    async fn sync_runs(&self) -> u64 {
        self.hub
            .store
            .list_runs(&project(), 0, 1)
            .await
            .unwrap()
            .total
    }

    /// Runs one hostile case and checks everything the issue asks for. Failures are collected
    /// (so that one run shows every case) and asserted in [`Rig::finish`].
    async fn refused(&mut self, source: &str, case: &Case, sources: &str, args: &[&str]) {
        let out = self.run(sources, args).await;
        let all = format!("{}{}", out.stdout, out.stderr);
        let name = format!("{source} / {}", case.name);
        let mut problems = Vec::new();
        if out.code != Some(1) {
            // 1 = a clean failure; 101 = a panic; None = killed (an abort, the OOM killer).
            problems.push(format!("exit code {:?}", out.code));
        }
        if all.contains("panicked") {
            problems.push("a panic".to_string());
        }
        let lower = out.stderr.to_ascii_lowercase();
        if !lower.contains(&source.to_ascii_lowercase()) {
            problems.push(format!("stderr does not name the source {source:?}"));
        }
        for expected in case.expect {
            if !out.stderr.contains(expected) {
                problems.push(format!("stderr does not say {expected:?}"));
            }
        }
        if all.contains("root:x:0:0") || all.contains("/usr/sbin/nologin") {
            problems.push("the content of /etc/passwd leaked".to_string());
        }
        let users = self.users().await;
        if users != 0 {
            problems.push(format!("{users} users at the hub"));
        }
        let runs = self.sync_runs().await;
        if runs != 0 {
            problems.push(format!("{runs} sync runs at the hub"));
        }
        let received = outbox_received(&out.data_dir);
        if received != 0 {
            problems.push(format!("{received} batches in the outbox"));
        }
        let peak = out.peak_rss_kib;
        if let Some(cap) = case.peak_below_kib {
            match peak {
                Some(kib) if kib < cap => {}
                other => problems.push(format!(
                    "peak RSS {other:?} KiB, expected below {cap} KiB (the body was buffered?)"
                )),
            }
        }
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or("(no error line)")
            .to_string();
        let summary = format!(
            "{name}: exit {:?} in {} ms, peak RSS {} KiB: {}",
            out.code,
            out.elapsed.as_millis(),
            peak.map_or("?".to_string(), |k| k.to_string()),
            clip(&line, 400)
        );
        if !problems.is_empty() {
            self.failures
                .push(format!("{summary}\n    problems: {}", problems.join("; ")));
        }
        self.report.push(summary);
    }

    /// The benign control: the same rig delivers and stores.
    async fn accepted(&mut self, source: &str, sources: &str, args: &[&str]) -> Outcome {
        let out = self.run(sources, args).await;
        assert_eq!(
            out.code,
            Some(0),
            "{source} control: {}{}",
            out.stdout,
            out.stderr
        );
        assert!(
            outbox_received(&out.data_dir) >= 1,
            "{source} control: the outbox saw no batch"
        );
        out
    }

    async fn finish(self) {
        for line in &self.report {
            println!("{line}");
        }
        let _ = self.hub.shutdown().await;
        self.db.finish().await;
        assert!(
            self.failures.is_empty(),
            "{} of {} hostile cases failed:\n{}",
            self.failures.len(),
            self.report.len(),
            self.failures.join("\n")
        );
    }
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Batches ever appended to the outbox of a run (0 when it has no outbox at all).
fn outbox_received(data_dir: &std::path::Path) -> u64 {
    let dir = data_dir.join("outbox");
    if !dir.exists() {
        return 0;
    }
    let key = OutboxKey::from_hex(KEY_HEX).unwrap();
    let (outbox, _) = Outbox::open(OutboxConfig::new(&dir, key)).unwrap();
    outbox.stats().sources.values().map(|s| s.received).sum()
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

// ---------------------------------------------------------------------------------------------
// The payload table.

/// One hostile answer and what stderr must say about it.
struct Case {
    name: &'static str,
    answer: Answer,
    expect: &'static [&'static str],
    /// Upper bound of the importer's peak RSS, for the 100 MB bodies.
    peak_below_kib: Option<u64>,
}

fn case(name: &'static str, answer: Answer, expect: &'static [&'static str]) -> Case {
    Case {
        name,
        answer,
        expect,
        peak_below_kib: None,
    }
}

const DTD_REFUSED: &[&str] = &["DOCTYPE/DTD declarations are refused"];
const TREE_NODES: &[&str] = &["more than 200000 elements"];

fn billion_laughs(root: &str) -> String {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        doc.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&lol{};", i - 1).repeat(10)
        ));
    }
    doc.push_str(&format!("]>\n<{root}>&lol9;</{root}>"));
    doc
}

/// The XML payloads. `root` is the list element the endpoint answers, `item` wraps a record,
/// `huge` a document with [`TOO_BIG`] in a numeric field, `huge_expect` what stderr says, `cap`
/// the source's response-size limit in bytes.
struct XmlShape {
    root: &'static str,
    /// What the 2,000,001-element document hits: the streaming UCCX lists 2 million elements,
    /// the tree decoders [`wfm_sources::xml::XmlLimits::TREE_MAX_NODES`].
    nodes_expect: &'static [&'static str],
    huge: String,
    huge_expect: &'static [&'static str],
    cap: &'static [&'static str],
    cap_bytes: usize,
}

const XML: &str = "application/xml";

fn xml_cases(s: &XmlShape) -> Vec<Case> {
    let root = s.root;
    let mut attrs = format!("<{root}><x");
    for i in 0..100_000 {
        attrs.push_str(&format!(" a{i}=\"v\""));
    }
    attrs.push_str(&format!("/></{root}>"));
    let many = format!("<{root}>{}</{root}>", "<x/>".repeat(2_000_001));
    let deep = format!(
        "<{root}>{}{}</{root}>",
        "<x>".repeat(10_000),
        "</x>".repeat(10_000)
    );
    let mut bad_utf8 = format!("<{root}><x>").into_bytes();
    bad_utf8.extend_from_slice(b"caf\xe9 \xff\xfe");
    bad_utf8.extend_from_slice(format!("</x></{root}>").as_bytes());
    let truncated = format!("<?xml version=\"1.0\"?><{root}><x><y>a</y>");
    let cut_in_tag = format!("<?xml version=\"1.0\"?><{root}><x><y>a</y><x");
    let whole = format!("<{root}>{}</{root}>", "<x>filler</x>".repeat(2000));
    vec![
        case("billion laughs", body(XML, billion_laughs(root)), DTD_REFUSED),
        case(
            "XXE with a DTD",
            body(
                XML,
                format!("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><{root}>&xxe;</{root}>"),
            ),
            DTD_REFUSED,
        ),
        case(
            "XXE without a DTD",
            body(XML, format!("<{root}><x>&xxe;</x></{root}>")),
            &["undefined or invalid entity reference &xxe;"],
        ),
        case(
            "XXE by parameter entity",
            body(
                XML,
                format!("<!DOCTYPE r [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]><{root}/>"),
            ),
            DTD_REFUSED,
        ),
        case(
            "100k attributes",
            body(XML, attrs),
            &["has more than 64 attributes"],
        ),
        Case {
            name: "2,000,001 elements",
            answer: body(XML, many),
            expect: s.nodes_expect,
            // Before the tree decoders had their own limit this took 270 MB.
            peak_below_kib: Some(128 * 1024),
        },
        case(
            "10k-deep nesting",
            body(XML, deep),
            &["nested deeper than 64 levels"],
        ),
        Case {
            name: "100 MB body",
            answer: Answer::Stream {
                content_type: XML,
                head: "<?xml version=\"1.0\"?><root>",
                fill: "<x>0123456789abcdef</x>",
                total: HUNDRED_MB,
            },
            expect: s.cap,
            peak_below_kib: Some((s.cap_bytes as u64 / 1024) + 40 * 1024),
        },
        case("invalid UTF-8", body(XML, bad_utf8), &["invalid UTF-8 at byte offset"]),
        case("2^64+1 in a number", body(XML, s.huge.clone()), s.huge_expect),
        case(
            "truncated document",
            body(XML, truncated),
            &["document is truncated: <x> is not closed"],
        ),
        case(
            "truncated inside a tag",
            body(XML, cut_in_tag),
            &["not found before end of input"],
        ),
        case(
            "connection dropped mid-body",
            Answer::Cut(XML, Bytes::from(whole)),
            &["connection closed before message completed"],
        ),
        case(
            "HTML login page",
            body(
                "text/html",
                "<!DOCTYPE html>\n<html><body><form>Login</form></body></html>",
            ),
            &["HTML page"],
        ),
    ]
}

/// The JSON payloads. `prefix`/`suffix` wrap a list of records, `with_value` is a body whose
/// first record has the given JSON value in a field the decoder reads, `huge` a body with
/// [`TOO_BIG`] where a number or an id is expected.
struct JsonShape {
    prefix: &'static str,
    suffix: &'static str,
    with_value: fn(&str) -> String,
    huge: String,
    huge_expect: &'static [&'static str],
    missing_id: &'static [&'static str],
    cap: &'static [&'static str],
    cap_bytes: usize,
}

const JSON: &str = "application/json";

fn json_cases(s: &JsonShape) -> Vec<Case> {
    let (pre, suf) = (s.prefix, s.suffix);
    let mut keys = format!("{pre}{{");
    for i in 0..100_000 {
        keys.push_str(&format!("\"k{i}\":\"v\","));
    }
    keys.push_str(&format!("\"last\":1}}{suf}"));
    let deep = (s.with_value)(&format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)));
    let mut bad_utf8 = format!("{pre}{{\"id\":\"caf").into_bytes();
    bad_utf8.extend_from_slice(b"\xe9\xff\xfe\"}");
    bad_utf8.extend_from_slice(suf.as_bytes());
    let whole = format!(
        "{pre}{}{{\"id\":\"last\"}}{suf}",
        "{\"id\":\"filler\"},".repeat(2000)
    );
    vec![
        case("100k keys in one record", body(JSON, keys), s.missing_id),
        case(
            "10k-deep nesting",
            body(JSON, deep),
            &["recursion limit exceeded"],
        ),
        Case {
            name: "100 MB body",
            answer: Answer::Stream {
                content_type: JSON,
                head: pre,
                fill: "{\"id\":\"0123456789abcdef\"},",
                total: HUNDRED_MB,
            },
            expect: s.cap,
            peak_below_kib: Some((s.cap_bytes as u64 / 1024) + 40 * 1024),
        },
        case(
            "invalid UTF-8",
            body(JSON, bad_utf8),
            &["invalid unicode code point"],
        ),
        case(
            "1e400",
            body(JSON, (s.with_value)("1e400")),
            &["number out of range"],
        ),
        case("2^64+1", body(JSON, s.huge.clone()), s.huge_expect),
        case(
            "truncated document",
            body(JSON, format!("{pre}{{\"id\":\"a\"")),
            &["EOF while parsing"],
        ),
        case(
            "connection dropped mid-body",
            Answer::Cut(JSON, Bytes::from(whole)),
            &["connection closed before message completed"],
        ),
        case(
            "billion laughs (XML to a JSON endpoint)",
            body(JSON, billion_laughs("users")),
            &["invalid JSON"],
        ),
        case(
            "HTML login page",
            body(
                "text/html",
                "<!DOCTYPE html>\n<html><body><form>Login</form></body></html>",
            ),
            &["HTML page"],
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Benign answers.

const UCCX_RESOURCES: &str = "<resources><resource><userID>ann.lee</userID><firstName>Ann</firstName><lastName>Lee</lastName><extension>1001</extension><type>1</type></resource></resources>";
const UCCX_TEAMS: &str = "<teams></teams>";

fn uccx_table(stub: &Stub) -> String {
    format!(
        "[uccx]\nscheme = \"http\"\nallow_insecure_http = true\nhost = \"127.0.0.1\"\nport = {}\nusername = \"administrator\"\npassword = \"ciscopsdt\"\nretries = 0\ntimeout = \"20s\"\n",
        stub.addr.port()
    )
}

fn cucm_table(stub: &Stub) -> String {
    format!(
        "[cucm]\nscheme = \"http\"\nallow_insecure_http = true\nhost = \"127.0.0.1\"\nport = {}\nusername = \"axladmin\"\npassword = \"ciscopsdt\"\nretries = 0\ntimeout = \"20s\"\n",
        stub.addr.port()
    )
}

fn axl_rows(sequence: &str, rows: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><ns:executeSQLQueryResponse xmlns:ns=\"http://www.cisco.com/AXL/API/12.5\" sequence=\"{sequence}\"><return>{rows}</return></ns:executeSQLQueryResponse></soapenv:Body></soapenv:Envelope>"
    )
}

const ANN_ROW: &str = "<row><pkid>6f4b1c2e-0000-4000-8000-000000000001</pkid><userid>ann.lee</userid><mailid>ann.lee@example.com</mailid><directoryuri></directoryuri></row>";

// ---------------------------------------------------------------------------------------------
// The entry points.

#[tokio::test]
async fn uccx_admin_rest_xml_and_json() {
    let stub = Stub::start().await;
    let mut rig = Rig::start().await;
    let sources = uccx_table(&stub);
    let args = ["sync", "users", "--source", "uccx"];
    let shape = XmlShape {
        root: "resources",
        nodes_expect: &["more than 2000000 elements"],
        huge: format!(
            "<resources><resource><userID>a</userID><type>{TOO_BIG}</type></resource></resources>"
        ),
        huge_expect: &["has type \"18446744073709551617\", expected 1 or 2"],
        cap: &["response body over 67108864 bytes"],
        cap_bytes: 64 * 1024 * 1024,
    };
    for c in xml_cases(&shape) {
        let answer = c.answer.clone();
        stub.answer(move |path, _| {
            if path == "/adminapi/team" {
                body(XML, UCCX_TEAMS)
            } else {
                answer.clone()
            }
        });
        rig.refused("/adminapi/resource", &c, &sources, &args).await;
        let asked = stub
            .hits()
            .iter()
            .filter(|p| *p == "/adminapi/resource")
            .count();
        if asked != 1 {
            rig.failures.push(format!(
                "uccx / {}: {asked} requests for a refused body (no retry expected)",
                c.name
            ));
        }
    }
    // The same decoders behind `Content-Type: application/json`.
    let shape = JsonShape {
        prefix: "{\"resource\":[",
        suffix: "]}",
        with_value: |v| format!("{{\"resource\":[{{\"userID\":\"a\",\"type\":{v}}}]}}"),
        huge: format!("{{\"resource\":[{{\"userID\":\"a\",\"type\":{TOO_BIG}}}]}}"),
        huge_expect: &["expected 1 or 2"],
        missing_id: &["resource #1 has no userID"],
        cap: &["response body over 67108864 bytes"],
        cap_bytes: 64 * 1024 * 1024,
    };
    for c in json_cases(&shape) {
        let answer = c.answer.clone();
        stub.answer(move |path, _| {
            if path == "/adminapi/team" {
                body(JSON, "{\"team\":[]}")
            } else {
                answer.clone()
            }
        });
        rig.refused("/adminapi/resource", &c, &sources, &args).await;
    }
    // Many small records within the size cap: refused by the count of JSON objects and arrays
    // before any tree is built (a serde_json value and then a tree took 336 MB for these 6 MB).
    let records = format!("{{\"resource\":[{}{{}}]}}", "{},".repeat(2_000_000));
    let c = case(
        "2,000,001 empty records (6 MB)",
        body(JSON, records),
        &["more than 200000 JSON objects and arrays"],
    );
    let answer = c.answer.clone();
    stub.answer(move |path, _| {
        if path == "/adminapi/team" {
            body(JSON, "{\"team\":[]}")
        } else {
            answer.clone()
        }
    });
    rig.refused("/adminapi/resource", &c, &sources, &args).await;
    // A JSON body labelled as XML and an XML body labelled as JSON.
    const AS_XML: &[&str] = &["text outside the root element"];
    const AS_JSON: &[&str] = &["invalid JSON"];
    for c in [
        case(
            "JSON labelled as XML",
            body(XML, "{\"resource\":[]}"),
            AS_XML,
        ),
        case("XML labelled as JSON", body(JSON, UCCX_RESOURCES), AS_JSON),
    ] {
        let answer = c.answer.clone();
        stub.answer(move |_, _| answer.clone());
        rig.refused("/adminapi/resource", &c, &sources, &args).await;
    }
    stub.answer(|path, _| match path {
        "/adminapi/team" => body(XML, UCCX_TEAMS),
        _ => body(XML, UCCX_RESOURCES),
    });
    rig.accepted("uccx", &sources, &args).await;
    assert_eq!(rig.users().await, 1, "the control stored its user");
    rig.finish().await;
}

#[tokio::test]
async fn cucm_axl_soap() {
    let stub = Stub::start().await;
    let mut rig = Rig::start().await;
    let sources = format!("{}{}", uccx_table(&stub), cucm_table(&stub));
    let args = ["sync", "users", "--source", "uccx"];
    let shape = XmlShape {
        root: "Envelope",
        nodes_expect: TREE_NODES,
        huge: axl_rows(TOO_BIG, ANN_ROW),
        huge_expect: &["sequence \"18446744073709551617\" is not an unsigned number"],
        cap: &["response body over 33554432 bytes"],
        cap_bytes: 32 * 1024 * 1024,
    };
    let upstream = |answer: Answer| {
        move |path: &str, _: &str| match path {
            "/adminapi/team" => body(XML, UCCX_TEAMS),
            "/adminapi/resource" => body(XML, UCCX_RESOURCES),
            _ => answer.clone(),
        }
    };
    for c in xml_cases(&shape) {
        stub.answer(upstream(c.answer.clone()));
        rig.refused("axl", &c, &sources, &args).await;
    }
    // A "result too large" fault announcing 2^64-1 rows, then one row per page for ever: the
    // paging must stop on its own.
    let fault = "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>Query request too large. Total rows matched: 18446744073709551615 rows. Suggestive Row Fetch: less than 2 rows</faultstring><detail><axlError><axlcode>-1</axlcode><axlmessage>Query request too large. Total rows matched: 18446744073709551615 rows. Suggestive Row Fetch: less than 2 rows</axlmessage></axlError></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>";
    stub.answer(move |path, req| match path {
        "/adminapi/team" => body(XML, UCCX_TEAMS),
        "/adminapi/resource" => body(XML, UCCX_RESOURCES),
        _ if req.contains("SKIP") => body(XML, axl_rows("", ANN_ROW)),
        _ => body(XML, fault),
    });
    let c = case(
        "endless paging after a 2^64-1 row count",
        body(XML, ""),
        &["paging did not end"],
    );
    rig.refused("axl", &c, &sources, &args).await;
    let pages = stub.hits().len();
    assert!(pages < 100, "paging stopped after {pages} requests");

    stub.answer(move |path, _| match path {
        "/adminapi/team" => body(XML, UCCX_TEAMS),
        "/adminapi/resource" => body(XML, UCCX_RESOURCES),
        _ => body(XML, axl_rows("", ANN_ROW)),
    });
    rig.accepted("uccx", &sources, &args).await;
    assert_eq!(rig.users().await, 1);
    rig.finish().await;
}

const UCCE_AGENTS: &str = "<results><pageInfo><resultsPerPage>100</resultsPerPage><startIndex>0</startIndex><totalResults>1</totalResults></pageInfo><agents><agent><refURL>/unifiedconfig/config/agent/5000</refURL><agentId>5000</agentId><person><userName>ann.lee@example.com</userName><firstName>Ann</firstName><lastName>Lee</lastName></person></agent></agents></results>";
const UCCE_TEAMS: &str = "<results><pageInfo><totalResults>0</totalResults></pageInfo><agentTeams></agentTeams></results>";
const UCCE_SKILLS: &str = "<results><pageInfo><totalResults>0</totalResults></pageInfo><skillGroups></skillGroups></results>";

#[tokio::test]
async fn ucce_config_api() {
    let stub = Stub::start().await;
    let mut rig = Rig::start().await;
    let sources = format!(
        "[[ucce]]\nsource_id = \"ucce-h\"\nscheme = \"http\"\nallow_insecure_http = true\nhost = \"127.0.0.1\"\nport = {}\nusername = \"administrator@example.com\"\npassword = \"ciscopsdt\"\nretries = 0\ntimeout = \"20s\"\n",
        stub.addr.port()
    );
    let args = ["sync", "users", "--source", "ucce-h"];
    let shape = XmlShape {
        root: "results",
        nodes_expect: TREE_NODES,
        huge: format!("<results><pageInfo><totalResults>{TOO_BIG}</totalResults></pageInfo><agents/></results>"),
        huge_expect: &["totalResults \"18446744073709551617\", expected a whole number"],
        cap: &["response body over 16777216 bytes"],
        cap_bytes: 16 * 1024 * 1024,
    };
    let upstream = |answer: Answer| {
        move |path: &str, _: &str| match path {
            "/unifiedconfig/config/agentteam" => body(XML, UCCE_TEAMS),
            "/unifiedconfig/config/skillgroup" => body(XML, UCCE_SKILLS),
            _ => answer.clone(),
        }
    };
    for c in xml_cases(&shape) {
        stub.answer(upstream(c.answer.clone()));
        rig.refused("/unifiedconfig/config/agent", &c, &sources, &args)
            .await;
    }
    // A total of 2^64-1 agents on a page of one: refused before any further page is asked for.
    let one_of_many = UCCE_AGENTS.replace(
        "<totalResults>1</totalResults>",
        "<totalResults>18446744073709551615</totalResults>",
    );
    stub.answer(upstream(body(XML, one_of_many)));
    let c = case("totalResults 2^64-1", body(XML, ""), &["pages"]);
    rig.refused("/unifiedconfig/config/agent", &c, &sources, &args)
        .await;
    let pages = stub
        .hits()
        .iter()
        .filter(|p| *p == "/unifiedconfig/config/agent")
        .count();
    assert_eq!(pages, 1, "no page after the first: {:?}", stub.hits());

    stub.answer(upstream(body(XML, UCCE_AGENTS)));
    rig.accepted("ucce-h", &sources, &args).await;
    assert_eq!(rig.users().await, 1);
    rig.finish().await;
}

const FINESSE_CODES: &str = "<ReasonCodes category=\"NOT_READY\"><ReasonCode><uri>/finesse/api/ReasonCode/1</uri><category>NOT_READY</category><code>10</code><label>Lunch</label><forAll>true</forAll><systemCode>false</systemCode></ReasonCode></ReasonCodes>";

#[tokio::test]
async fn finesse_reason_codes() {
    let stub = Stub::start().await;
    let mut rig = Rig::start().await;
    let sources = format!(
        "[finesse]\nscheme = \"http\"\nallow_insecure_http = true\nhost = \"127.0.0.1\"\nport = {}\nusername = \"administrator\"\npassword = \"ciscopsdt\"\nretries = 0\ntimeout = \"20s\"\n",
        stub.addr.port()
    );
    let args = ["sync", "reason-codes"];
    let shape = XmlShape {
        root: "ReasonCodes",
        nodes_expect: TREE_NODES,
        huge: FINESSE_CODES.replace("<code>10</code>", &format!("<code>{TOO_BIG}</code>")),
        huge_expect: &["is not a non-negative number"],
        cap: &["response body over 16777216 bytes"],
        cap_bytes: 16 * 1024 * 1024,
    };
    for c in xml_cases(&shape) {
        let answer = c.answer.clone();
        stub.answer(move |_, _| answer.clone());
        rig.refused("finesse", &c, &sources, &args).await;
    }
    stub.answer(|_, _| body(XML, FINESSE_CODES));
    rig.accepted("finesse", &sources, &args).await;
    rig.finish().await;
}

/// One cloud platform: its table, the `sync` source id, the label stderr names, the JSON
/// envelope of a user list and a benign answer per path.
async fn cloud(
    table: &str,
    extra: &str,
    label: &'static str,
    shape: JsonShape,
    benign: fn(&str) -> Answer,
) {
    let stub = Stub::start().await;
    let mut rig = Rig::start().await;
    let id = format!("{table}-h");
    let sources = format!(
        "[[{table}]]\nsource_id = \"{id}\"\nbase_url = \"{}\"\ntoken = \"static-token-0123456789\"\nallow_insecure_http = true\nretries = 0\ntimeout = \"20s\"\n{extra}\n",
        stub.base()
    );
    let args = ["sync", "users", "--source", id.as_str()];
    for c in json_cases(&shape) {
        let answer = c.answer.clone();
        stub.answer(move |_, _| answer.clone());
        rig.refused(label, &c, &sources, &args).await;
    }
    stub.answer(move |path, _| benign(path));
    rig.accepted(&id, &sources, &args).await;
    assert_eq!(rig.users().await, 1);
    rig.finish().await;
}

const CLOUD_CAP: &[&str] = &["response body over 33554432 bytes"];

#[tokio::test]
async fn zoom_json() {
    let shape = JsonShape {
        prefix: "{\"users\":[",
        suffix: "]}",
        with_value: |v| format!("{{\"users\":[{{\"id\":\"a\",\"type\":{v}}}]}}"),
        huge: format!("{{\"users\":[{{\"id\":{TOO_BIG}}}]}}"),
        huge_expect: &["invalid type: floating point"],
        missing_id: &["missing field `id`"],
        cap: CLOUD_CAP,
        cap_bytes: 32 * 1024 * 1024,
    };
    cloud("zoom", "", "/v2/users", shape, |path| {
        if path.starts_with("/v2/users") {
            body(
                JSON,
                "{\"users\":[{\"id\":\"z1\",\"email\":\"ann.lee@example.com\",\"first_name\":\"Ann\",\"status\":\"active\"}],\"next_page_token\":\"\"}",
            )
        } else {
            body(JSON, "{\"groups\":[],\"next_page_token\":\"\"}")
        }
    })
    .await;
}

#[tokio::test]
async fn webex_json() {
    let shape = JsonShape {
        prefix: "{\"meta\":{\"page\":0,\"totalPages\":1},\"data\":[",
        suffix: "]}",
        with_value: |v| format!("{{\"meta\":{{\"page\":0,\"totalPages\":{v}}},\"data\":[]}}"),
        huge: format!("{{\"meta\":{{\"page\":0,\"totalPages\":{TOO_BIG}}},\"data\":[]}}"),
        huge_expect: &["invalid type: floating point"],
        missing_id: &["missing field `id`"],
        cap: CLOUD_CAP,
        cap_bytes: 32 * 1024 * 1024,
    };
    cloud(
        "webex",
        "org_id = \"org-1\"\napi_version = \"v2\"",
        "/organization/org-1/",
        shape,
        |path| {
            if path.contains("/user") {
                body(
                    JSON,
                    "{\"meta\":{\"page\":0,\"totalPages\":1},\"data\":[{\"id\":\"w1\",\"email\":\"ann.lee@example.com\",\"firstName\":\"Ann\"}]}",
                )
            } else {
                body(JSON, "{\"meta\":{\"page\":0,\"totalPages\":1},\"data\":[]}")
            }
        },
    )
    .await;
}

#[tokio::test]
async fn graph_json() {
    let shape = JsonShape {
        prefix: "{\"value\":[",
        suffix: "]}",
        with_value: |v| format!("{{\"value\":[{{\"id\":\"a\",\"displayName\":{v}}}]}}"),
        huge: format!("{{\"value\":[{{\"id\":{TOO_BIG}}}]}}"),
        huge_expect: &["invalid type: floating point"],
        missing_id: &["missing field `id`"],
        cap: CLOUD_CAP,
        cap_bytes: 32 * 1024 * 1024,
    };
    cloud("graph", "", "/v1.0/users", shape, |path| {
        if path.starts_with("/v1.0/users") {
            body(
                JSON,
                "{\"value\":[{\"id\":\"g1\",\"userPrincipalName\":\"ann.lee@example.com\",\"mail\":\"ann.lee@example.com\",\"accountEnabled\":true}]}",
            )
        } else {
            body(JSON, "{\"value\":[]}")
        }
    })
    .await;
}
