//! The historical-database reader against SQLite files written by the tests.

mod history_fixture;

use std::path::{Path, PathBuf};
use std::time::Duration;

use history_fixture::*;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use wfm_sources::history::{Dialect, HistoryConnection, HistoryError, HistoryReader};

const TIMEOUT: Duration = Duration::from_secs(5);

async fn write_db(path: &Path, statements: &[String]) {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .connect()
        .await
        .expect("create sqlite file");
    for s in statements {
        sqlx::query(s)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    conn.close().await.ok();
}

async fn uccx_db(dir: &Path, extra: &[&str]) -> PathBuf {
    let path = dir.join("db_cra.sqlite");
    let mut statements = uccx_ddl(Flavor::Sqlite);
    statements.extend(uccx_rows().into_iter().map(String::from));
    statements.extend(extra.iter().map(|s| s.to_string()));
    write_db(&path, &statements).await;
    path
}

async fn open(path: PathBuf, dialect: Dialect) -> HistoryReader {
    HistoryReader::connect(HistoryConnection::Sqlite { path }, dialect, TIMEOUT)
        .await
        .expect("connect")
}

#[tokio::test]
async fn queue_visits_join_ccd_csq_and_summed_acd_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(uccx_db(dir.path(), &[]).await, Dialect::Uccx).await;
    assert_eq!(
        reader.check().await.unwrap(),
        vec![
            "contactcalldetail",
            "contactqueuedetail",
            "agentconnectiondetail",
            "contactservicequeue"
        ]
    );
    let (from, to) = window();
    let rows = reader.queue_visits(from, to).await.unwrap();
    assert_eq!(rows, expected_visits());
    // The rows feed the documented mapping; the NULL row is rejected there, naming the column.
    let first = wfm_intervals::uccx::map_queue_visit(&rows[0], None).unwrap();
    assert_eq!(first.disposition, wfm_intervals::Disposition::Handled);
    let err = wfm_intervals::uccx::map_queue_visit(&rows[2], None).unwrap_err();
    assert!(err.to_string().contains("1"), "{err}");
}

#[tokio::test]
async fn queues_list_every_csq_configuration_row() {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(uccx_db(dir.path(), &[]).await, Dialect::Uccx).await;
    let queues = reader.queues().await.unwrap();
    let summary: Vec<_> = queues
        .iter()
        .map(|q| {
            (
                q.record_id,
                q.queue_id,
                q.name.as_str(),
                q.service_level_s,
                q.active,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, 10, "Sales", Some(20), false),
            (2, 10, "Sales", Some(30), true),
            (3, 11, "Support", None, true),
        ]
    );
}

#[tokio::test]
async fn unknown_csq_recordid_is_an_error_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(uccx_db(dir.path(), &[UNKNOWN_CSQ_ROW]).await, Dialect::Uccx).await;
    let (from, to) = window();
    let err = reader.queue_visits(from, to).await.unwrap_err();
    assert!(
        matches!(
            err,
            HistoryError::UnknownQueue {
                session: Some(104),
                seq: Some(2),
                target_id: 77
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("sessionid 104"), "{err}");
}

#[tokio::test]
async fn unreadable_time_text_is_a_bad_row_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "INSERT INTO contactqueuedetail VALUES (105, 0, 1, 1, 1, 1, 0, '2024-03-01 10:40:00 garbage', 2, 1, 3)";
    let reader = open(uccx_db(dir.path(), &[bad]).await, Dialect::Uccx).await;
    let (from, to) = window();
    let err = reader.queue_visits(from, to).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HistoryError::BadRow { .. }), "{err:?}");
    assert!(
        text.contains("startdatetime") && text.contains("sessionid 105"),
        "{text}"
    );
}

#[tokio::test]
async fn wrong_dialect_reports_the_missing_table_and_suggests_the_other_dialect() {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(uccx_db(dir.path(), &[]).await, Dialect::Ucce).await;
    let err = reader.check().await.unwrap_err();
    match &err {
        HistoryError::MissingTable {
            table,
            dialect_hint,
        } => {
            assert_eq!(table, "call_type");
            assert!(dialect_hint.contains("UCCX"), "{dialect_hint}");
        }
        other => panic!("{other:?}"),
    }
    let (from, to) = window();
    let err = reader.call_type_intervals(from, to).await.unwrap_err();
    assert!(
        matches!(err, HistoryError::MissingTable { ref table, .. } if table == "call_type_interval"),
        "{err:?}"
    );
    let err = reader.queue_visits(from, to).await.unwrap_err();
    assert!(matches!(err, HistoryError::WrongDialect { .. }), "{err:?}");
}

#[tokio::test]
async fn ucce_intervals_are_converted_to_utc_with_the_row_time_zone() {
    for with_dequeued in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hds.sqlite");
        let mut statements = ucce_ddl(Flavor::Sqlite, with_dequeued);
        statements.extend(ucce_rows(with_dequeued));
        write_db(&path, &statements).await;
        let reader = open(path, Dialect::Ucce).await;
        assert_eq!(
            reader.check().await.unwrap(),
            vec!["call_type", "call_type_interval"]
        );
        let queues = reader.queues().await.unwrap();
        assert_eq!(queues.len(), 2);
        assert_eq!(
            (
                queues[0].record_id,
                queues[0].queue_id,
                queues[0].name.as_str()
            ),
            (5000, 5000, "CT_Sales")
        );
        let (from, to) = ucce_window();
        let rows = reader.call_type_intervals(from, to).await.unwrap();
        check_intervals(&rows, with_dequeued);
    }
}

#[tokio::test]
async fn missing_file_is_a_connect_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.sqlite");
    let err = HistoryReader::connect(HistoryConnection::Sqlite { path }, Dialect::Uccx, TIMEOUT)
        .await
        .unwrap_err();
    assert!(matches!(err, HistoryError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.sqlite"), "{err}");
}

#[cfg(not(feature = "odbc"))]
#[tokio::test]
async fn odbc_without_the_feature_says_how_to_enable_it() {
    let err = HistoryReader::connect(
        HistoryConnection::Odbc {
            connection_string: "DSN=x".into(),
        },
        Dialect::Uccx,
        TIMEOUT,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HistoryError::FeatureDisabled));
    assert!(err.to_string().contains("odbc"));
}

#[tokio::test]
async fn agent_states_of_both_dialects_are_read_in_utc_and_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("states.sqlite");
    let mut statements = state_ddl(Flavor::Sqlite);
    statements.extend(state_rows().into_iter().map(String::from));
    write_db(&path, &statements).await;
    let uccx = open(path.clone(), Dialect::Uccx).await;
    assert_eq!(uccx.check_states().await.unwrap(), "agentstatedetail");
    let (from, to) = window();
    check_uccx_states(&uccx.agent_states(from, to).await.unwrap());
    let ucce = open(path, Dialect::Ucce).await;
    assert_eq!(ucce.check_states().await.unwrap(), "agent_state_trace");
    let (from, to) = ucce_window();
    check_ucce_states(&ucce.agent_states(from, to).await.unwrap());
}

#[tokio::test]
async fn agent_state_with_null_time_zone_is_a_bad_row_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("states.sqlite");
    let mut statements = state_ddl(Flavor::Sqlite);
    statements.push(
        "INSERT INTO agent_state_trace VALUES ('2024-01-15 10:10:00', 5003, NULL, 1, 2, 2, 0)"
            .to_string(),
    );
    write_db(&path, &statements).await;
    let reader = open(path, Dialect::Ucce).await;
    let (from, to) = ucce_window();
    let err = reader.agent_states(from, to).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, HistoryError::BadRow { .. }), "{err:?}");
    assert!(
        text.contains("agent_state_trace")
            && text.contains("timezone")
            && text.contains("skilltargetid 5003"),
        "{text}"
    );
}

#[tokio::test]
async fn missing_agent_state_table_is_reported_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let reader = open(uccx_db(dir.path(), &[]).await, Dialect::Uccx).await;
    let err = reader.check_states().await.unwrap_err();
    assert!(
        matches!(err, HistoryError::MissingTable { ref table, .. } if table == "agentstatedetail"),
        "{err:?}"
    );
}
