//! Benchmark input: a realistic CSV export of CSQ visits (see `wfm_intervals::csv`).
//!
//! `cargo run --release -p wfm-intervals --example gen_legs -- [ROWS] [SEED] > legs.csv`
//!
//! 40 queues with skewed volumes, four weeks from 2026-03-02 UTC with a two-peak time-of-day
//! curve and quiet weekends, rows in time order (as an export ordered by session). Dispositions:
//! ~78 % handled (1 % of them with talk 0), 11 % abandoned (5 % of those aborted), 3 %
//! dequeued, 2 % handled by script, 4 % queued in two CSQs at once (one row handled by
//! another CSQ, one handled); 8 % of handled calls are transferred to a second leg in another
//! queue. 0.3 % of rows appear twice (a re-read trailing window), ~500 rows later.

use std::collections::VecDeque;
use std::io::{self, BufWriter, Write};

use wfm_intervals::timestamp::{days_from_civil, format_seconds};
use wfm_intervals::UtcMillis;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Exponential with the given mean, whole seconds, capped at smallint.
    fn exp_secs(&mut self, mean: f64) -> i64 {
        let u = 1.0 - self.unit();
        ((-mean * u.ln()) as i64).min(32_767)
    }
}

const QUEUES: u64 = 40;
const DAYS: i64 = 28;

fn curve(minute_of_day: i64) -> f64 {
    let h = minute_of_day as f64 / 60.0;
    let g = |mu: f64, sigma: f64| (-(h - mu) * (h - mu) / (2.0 * sigma * sigma)).exp();
    0.03 + g(9.5, 1.5) + 0.8 * g(14.5, 2.0)
}

struct Row {
    session: u64,
    seq: u32,
    csq: u64,
    entry_ms: i64,
    end_ms: i64,
    cqd: u8,
    ccd: u8,
    wait: i64,
    talk: Option<i64>,
    hold: Option<i64>,
    work: Option<i64>,
}

fn push_ts(out: &mut Vec<u8>, ms: i64) {
    out.extend_from_slice(format_seconds(UtcMillis(ms)).as_bytes());
    write!(out, ".{:03}", ms.rem_euclid(1000)).ok();
}

fn push_row(out: &mut Vec<u8>, r: &Row) {
    write!(out, "{},{},{},", r.session, r.seq, r.csq).ok();
    push_ts(out, r.entry_ms);
    out.push(b',');
    push_ts(out, r.end_ms);
    write!(out, ",{},{},{},", r.cqd, r.ccd, r.wait).ok();
    for (i, v) in [r.talk, r.hold, r.work].into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if let Some(v) = v {
            write!(out, "{v}").ok();
        }
    }
    out.push(b'\n');
}

fn pick_queue(rng: &mut Rng, cumulative: &[f64]) -> u64 {
    let u = rng.unit() * cumulative[cumulative.len() - 1];
    let at = cumulative.partition_point(|&c| c < u);
    101 + at as u64
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let seed: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_260_302);
    let mut rng = Rng(seed);

    let mut cumulative = Vec::new();
    let mut total = 0.0;
    for k in 0..QUEUES {
        total += 1.0 / ((k + 1) as f64).powf(0.8);
        cumulative.push(total);
    }
    let minutes = (DAYS * 1440) as usize;
    let mut weights = Vec::with_capacity(minutes);
    let mut weight_sum = 0.0;
    for m in 0..minutes as i64 {
        let day = m / 1440;
        let weekend = if day % 7 >= 5 { 0.35 } else { 1.0 };
        let w = curve(m % 1440) * weekend;
        weights.push(w);
        weight_sum += w;
    }
    let sessions_target = rows as f64 / 1.13;
    let start = days_from_civil(2026, 3, 2) * 86_400_000;

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut line = Vec::with_capacity(256);
    out.write_all(wfm_intervals::csv::visit_header().as_bytes())?;
    out.write_all(b"\n")?;
    let mut written = 0u64;
    let mut session = 33_000_000_000u64;
    let mut pending: VecDeque<(u64, Vec<u8>)> = VecDeque::new();
    let mut carry = 0.0;
    let mut minute = 0usize;
    let mut legs: Vec<Row> = Vec::new();
    'outer: loop {
        let expected = sessions_target * weights[minute % minutes] / weight_sum + carry;
        let count = expected.floor();
        carry = expected - count;
        let minute_start = start + (minute as i64) * 60_000;
        let mut arrivals: Vec<i64> = (0..count as u64)
            .map(|_| minute_start + rng.below(60_000) as i64)
            .collect();
        arrivals.sort_unstable();
        for arrival in arrivals {
            session += 1;
            legs.clear();
            let mut entry = arrival + 2_000 + rng.below(8_000) as i64; // IVR before queueing
            let mut seq = 0;
            let mut csq = pick_queue(&mut rng, &cumulative);
            loop {
                let u = rng.unit();
                let mut transfer = false;
                if u < 0.78 {
                    let wait = rng.exp_secs(35.0);
                    let no_talk = rng.unit() < 0.01;
                    let talk = if no_talk { 0 } else { 20 + rng.exp_secs(220.0) };
                    let hold = if rng.unit() < 0.25 {
                        rng.exp_secs(45.0)
                    } else {
                        0
                    };
                    let work = rng.exp_secs(35.0);
                    let end = entry + (wait + talk + hold + work) * 1000 + rng.below(1000) as i64;
                    transfer = !no_talk && rng.unit() < 0.08 && seq < 3;
                    legs.push(Row {
                        session,
                        seq,
                        csq,
                        entry_ms: entry,
                        end_ms: end,
                        cqd: 2,
                        ccd: 2,
                        wait,
                        talk: Some(talk),
                        hold: Some(hold),
                        work: Some(work),
                    });
                    entry = end - work * 1000 + 1_500;
                } else if u < 0.89 {
                    let wait = rng.exp_secs(50.0);
                    let ccd = if rng.unit() < 0.05 { 4 } else { 1 };
                    let end = entry + wait * 1000 + rng.below(1000) as i64;
                    let rona = rng.unit() < 0.1;
                    let (talk, hold, work) = if rona {
                        (Some(0), Some(0), Some(0))
                    } else {
                        (None, None, None)
                    };
                    legs.push(Row {
                        session,
                        seq,
                        csq,
                        entry_ms: entry,
                        end_ms: end,
                        cqd: 1,
                        ccd,
                        wait,
                        talk,
                        hold,
                        work,
                    });
                } else if u < 0.92 {
                    let wait = rng.exp_secs(90.0);
                    let end = entry + wait * 1000 + 30_000 + rng.below(1000) as i64;
                    legs.push(Row {
                        session,
                        seq,
                        csq,
                        entry_ms: entry,
                        end_ms: end,
                        cqd: 3,
                        ccd: 2,
                        wait,
                        talk: None,
                        hold: None,
                        work: None,
                    });
                } else if u < 0.94 {
                    let wait = rng.exp_secs(20.0);
                    let end = entry + wait * 1000 + 45_000 + rng.below(1000) as i64;
                    legs.push(Row {
                        session,
                        seq,
                        csq,
                        entry_ms: entry,
                        end_ms: end,
                        cqd: 4,
                        ccd: 2,
                        wait,
                        talk: None,
                        hold: None,
                        work: None,
                    });
                } else {
                    // queued in two CSQs; the other one answers
                    let other = 101 + (csq - 101 + 1 + rng.below(QUEUES - 1)) % QUEUES;
                    let wait = rng.exp_secs(40.0);
                    let talk = 20 + rng.exp_secs(200.0);
                    let work = rng.exp_secs(30.0);
                    let end = entry + (wait + talk + work) * 1000 + rng.below(1000) as i64;
                    legs.push(Row {
                        session,
                        seq,
                        csq,
                        entry_ms: entry,
                        end_ms: end,
                        cqd: 5,
                        ccd: 2,
                        wait,
                        talk: None,
                        hold: None,
                        work: None,
                    });
                    legs.push(Row {
                        session,
                        seq,
                        csq: other,
                        entry_ms: entry,
                        end_ms: end,
                        cqd: 2,
                        ccd: 2,
                        wait,
                        talk: Some(talk),
                        hold: Some(0),
                        work: Some(work),
                    });
                }
                if !transfer {
                    break;
                }
                seq += 1;
                csq = 101 + (csq - 101 + 1 + rng.below(QUEUES - 1)) % QUEUES;
            }
            for leg in &legs {
                line.clear();
                push_row(&mut line, leg);
                out.write_all(&line)?;
                written += 1;
                if rng.unit() < 0.003 {
                    pending.push_back((written + 500, line.clone()));
                }
                while pending.front().is_some_and(|(due, _)| *due <= written) {
                    if let Some((_, copy)) = pending.pop_front() {
                        out.write_all(&copy)?;
                        written += 1;
                    }
                }
                if written >= rows {
                    break 'outer;
                }
            }
        }
        minute += 1;
    }
    out.flush()?;
    eprintln!(
        "gen_legs: {written} rows, {} sessions, seed {seed}",
        session - 33_000_000_000
    );
    Ok(())
}
