//! Text rendering of `outbox status` and `outbox list`.

use std::fmt::Write;

use std::path::Path;

use wfm_outbox::OutboxStats;

use super::{age, conserved, rfc3339, ListRow};

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    part as f64 * 100.0 / whole as f64
}

/// The `outbox status` table.
pub fn status_text(dir: &Path, stats: &OutboxStats) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "outbox {}", dir.display());
    let _ = writeln!(
        out,
        "disk: {} bytes ({}) of a {} bytes budget ({}), {:.1} % used, {} segment(s){}",
        stats.disk_bytes,
        mib(stats.disk_bytes),
        stats.max_bytes,
        mib(stats.max_bytes),
        percent(stats.disk_bytes, stats.max_bytes),
        stats.segments,
        if stats.full {
            " - FULL: appends refused"
        } else {
            ""
        }
    );
    let refuse_at = stats.encryption_limit - stats.encryption_limit / 64;
    let _ = writeln!(
        out,
        "key: {} encryptions of a limit of {} ({:.4} %; new batches refused from {})",
        stats.encryptions,
        stats.encryption_limit,
        percent(stats.encryptions, stats.encryption_limit),
        refuse_at
    );
    if stats.sources.is_empty() {
        let _ = writeln!(out, "no source has appended a batch yet");
        let _ = writeln!(out, "conservation: OK (nothing received)");
        return out;
    }
    let width = stats
        .sources
        .keys()
        .map(|s| s.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:<width$}  {:>9}  {:>9}  {:>8}  {:>13}  {:>7}  {:>14}  {:<20}  {:>10}  conservation",
        "source",
        "received",
        "delivered",
        "buffered",
        "dead-lettered",
        "dropped",
        "oldest pending",
        "last delivered",
        "bytes"
    );
    let mut all_ok = true;
    for (name, s) in &stats.sources {
        let ok = conserved(s);
        all_ok &= ok;
        let _ = writeln!(
            out,
            "{:<width$}  {:>9}  {:>9}  {:>8}  {:>13}  {:>7}  {:>14}  {:<20}  {:>10}  {}",
            name,
            s.received,
            s.delivered,
            s.buffered,
            s.dead_lettered,
            s.dead_dropped,
            s.oldest_pending_age.map(age).unwrap_or_else(|| "-".into()),
            s.last_delivered
                .map(rfc3339)
                .unwrap_or_else(|| "never".into()),
            s.bytes,
            if ok { "OK" } else { "MISMATCH" }
        );
    }
    if all_ok {
        let _ = writeln!(
            out,
            "conservation: OK (received = delivered + buffered + dead-lettered for every source)"
        );
    } else {
        let _ = writeln!(
            out,
            "conservation: MISMATCH (received != delivered + buffered + dead-lettered for a source above): please report it with this output"
        );
    }
    out
}

/// The `outbox list` table.
pub fn list_text(rows: &[ListRow]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no batches\n");
        return out;
    }
    let width = rows
        .iter()
        .map(|r| r.source.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:>8}  {:<width$}  {:<7}  {:<20}  {:>8}  {:>10}  reason",
        "id", "source", "state", "appended", "attempts", "bytes"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:>8}  {:<width$}  {:<7}  {:<20}  {:>8}  {:>10}  {}",
            r.id,
            r.source,
            r.state,
            r.appended,
            r.attempts,
            r.bytes,
            r.reason.as_deref().unwrap_or("").replace(['\n', '\r'], " ")
        );
    }
    let pending = rows.iter().filter(|r| r.state == "pending").count();
    let _ = writeln!(
        out,
        "{} batch(es): {} pending, {} dead-lettered",
        rows.len(),
        pending,
        rows.len() - pending
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use wfm_outbox::SourceStats;

    fn stats(received: u64) -> OutboxStats {
        let mut stats = OutboxStats {
            max_bytes: 1 << 30,
            encryption_limit: 1 << 31,
            ..OutboxStats::default()
        };
        let source = SourceStats {
            received,
            delivered: 2,
            buffered: 1,
            dead_lettered: 1,
            ..SourceStats::default()
        };
        stats.sources.insert("users:a".into(), source);
        stats
    }

    #[test]
    fn a_conservation_mismatch_is_printed_per_source_and_in_the_summary() {
        let ok = status_text(Path::new("/x"), &stats(4));
        assert!(ok.contains("conservation: OK"), "{ok}");
        assert!(!ok.contains("MISMATCH"), "{ok}");
        let bad = status_text(Path::new("/x"), &stats(5));
        let row = bad.lines().find(|l| l.starts_with("users:a")).unwrap();
        assert!(row.ends_with("MISMATCH"), "{bad}");
        assert!(bad.contains("conservation: MISMATCH"), "{bad}");
    }

    #[test]
    fn a_full_outbox_says_so() {
        let mut s = stats(4);
        s.full = true;
        assert!(status_text(Path::new("/x"), &s).contains("FULL: appends refused"));
    }
}
