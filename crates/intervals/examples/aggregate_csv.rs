//! Benchmark runner: CSV legs -> interval table CSV, printing the wall time.
//!
//! `cargo run --release -p wfm-intervals --example aggregate_csv -- legs.csv intervals.csv [15|30]`
//!
//! Two threads: one parses, one aggregates (a pipeline; the library itself is single-threaded).
//! Service level 20 s for answers and abandons. Bad rows are counted and the first five shown.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

const BATCH: usize = 8192;

use wfm_intervals::csv::{push_interval_row, LegReader, INTERVAL_HEADER};
use wfm_intervals::{AggregationConfig, Aggregator, CallLeg, IntervalLength};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(input), Some(output)) = (args.first(), args.get(1)) else {
        return Err("usage: aggregate_csv LEGS.csv INTERVALS.csv [15|30]".into());
    };
    let interval = match args.get(2).map(String::as_str) {
        Some("30") => IntervalLength::Thirty,
        _ => IntervalLength::Fifteen,
    };
    let started = Instant::now();
    let file = File::open(input)?;
    // ~75 bytes a row: size the duplicate set once instead of re-hashing it while growing
    let estimate = (file.metadata()?.len() / 75) as usize;
    let config = AggregationConfig {
        interval,
        ..AggregationConfig::default()
    };
    // Two threads, as a pipeline: this one parses the CSV, the other aggregates (the duplicate
    // set's cache misses cost about as much as parsing). Batches keep the channel cheap.
    let (sender, receiver) = mpsc::sync_channel::<Vec<CallLeg>>(8);
    let aggregating = thread::spawn(move || {
        let mut aggregator = Aggregator::with_capacity(&config, estimate);
        for batch in receiver {
            for leg in &batch {
                aggregator.push(leg);
            }
        }
        aggregator
    });
    let mut errors = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    for leg in LegReader::new(file)? {
        match leg {
            Ok(leg) => {
                batch.push(leg);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    sender.send(full)?;
                }
            }
            Err(e) => {
                errors += 1;
                if errors <= 5 {
                    eprintln!("bad row: {e}");
                }
            }
        }
    }
    sender.send(batch)?;
    drop(sender);
    let aggregator = aggregating
        .join()
        .map_err(|_| "the aggregating thread panicked")?;
    let counted = aggregator.legs_counted();
    let result = aggregator.finish();
    let aggregated = started.elapsed();
    let mut out = BufWriter::new(File::create(output)?);
    let mut text = String::with_capacity(1 << 16);
    text.push_str(INTERVAL_HEADER);
    text.push('\n');
    for row in &result.intervals {
        push_interval_row(&mut text, row);
        if text.len() > 60_000 {
            out.write_all(text.as_bytes())?;
            text.clear();
        }
    }
    out.write_all(text.as_bytes())?;
    out.flush()?;
    eprintln!(
        "ours: {counted} legs counted, {} duplicates, {errors} bad rows, {} intervals; \
read+aggregate {:.3} s, total {:.3} s",
        result.duplicates.len(),
        result.intervals.len(),
        aggregated.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
