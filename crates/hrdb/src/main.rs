//! `wfm-hrdb`: generate a contact centre and load it into an emulated reporting database.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};
use wfm_hrdb::{HrdbSpec, WriteReport};

#[derive(Parser)]
#[command(
    name = "wfm-hrdb",
    about = "UCCX db_cra / UCCE HDS reporting-database emulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a centre and load the rows written up to --until (default: all).
    Generate(GenerateArgs),
}

#[derive(Args)]
struct GenerateArgs {
    /// PostgreSQL URL to load into.
    #[arg(long, conflicts_with = "sqlite", required_unless_present = "sqlite")]
    postgres: Option<String>,
    /// SQLite file to load into (created if missing).
    #[arg(long)]
    sqlite: Option<PathBuf>,
    /// Days to generate.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Number of agents.
    #[arg(long, default_value_t = 400)]
    agents: u32,
    /// Number of CSQs.
    #[arg(long, default_value_t = 12)]
    csqs: u32,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// First day (YYYY-MM-DD, midnight UTC) or an RFC 3339 instant.
    #[arg(long, default_value = "2026-01-05")]
    from: String,
    /// Load only rows written at or before this instant (YYYY-MM-DD, "YYYY-MM-DD HH:MM" UTC,
    /// or RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Offered calls per logged-in agent per hour.
    #[arg(long, default_value_t = 10.0)]
    calls_per_agent_hour: f64,
    /// UCCE interval length in minutes (15 or 30).
    #[arg(long, default_value_t = 15)]
    interval_minutes: u32,
    /// Site / UCCE central-controller offset from UTC in minutes.
    #[arg(long, default_value_t = -300, allow_hyphen_values = true)]
    utc_offset_minutes: i32,
    /// Also write UCCE agent_state_trace.
    #[arg(long)]
    agent_state_trace: bool,
    /// Drop the emulated tables first.
    #[arg(long)]
    drop: bool,
}

fn parse_instant(text: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    if let Ok(at) = PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
    ) {
        return Ok(at.assume_utc());
    }
    let date = Date::parse(text, format_description!("[year]-[month]-[day]"))
        .with_context(|| format!("not a date or instant: {text}"))?;
    Ok(date.midnight().assume_utc())
}

fn print_report(report: &WriteReport, generated: usize, gen_secs: f64, load_secs: f64) {
    println!("generated {generated} call legs in {gen_secs:.1} s");
    for (table, rows) in &report.rows {
        println!("{table:>24} {rows:>10}");
    }
    println!(
        "loaded {} history rows in {load_secs:.1} s",
        report.history_rows()
    );
}

async fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let spec = HrdbSpec {
        seed: args.seed,
        agents: args.agents,
        csqs: args.csqs,
        from: parse_instant(&args.from)?,
        days: args.days,
        calls_per_agent_hour: args.calls_per_agent_hour,
        interval_minutes: args.interval_minutes,
        utc_offset_minutes: args.utc_offset_minutes,
        agent_state_trace: args.agent_state_trace,
    };
    spec.validate()?;
    let until = args.until.as_deref().map(parse_instant).transpose()?;
    let started = Instant::now();
    eprintln!("generating {} days x {} agents ...", spec.days, spec.agents);
    let centre = wfm_hrdb::generate(&spec)?;
    let gen_secs = started.elapsed().as_secs_f64();
    let loading = Instant::now();
    let last_million = AtomicU64::new(u64::MAX);
    let progress = |table: &str, rows: u64| {
        let million = rows / 1_000_000;
        if last_million.swap(million, Ordering::Relaxed) != million {
            eprintln!(
                "  {:>6.1} s  {table}: {rows} rows",
                loading.elapsed().as_secs_f64()
            );
        }
    };
    let report = if let Some(url) = &args.postgres {
        let pool = wfm_hrdb::connect_postgres(url).await?;
        wfm_hrdb::create_schema_postgres(&pool, args.drop).await?;
        let report = wfm_hrdb::write_postgres_with(&centre, &pool, until, &progress).await?;
        pool.close().await;
        report
    } else if let Some(path) = &args.sqlite {
        let pool = wfm_hrdb::connect_sqlite(path).await?;
        wfm_hrdb::create_schema_sqlite(&pool, args.drop).await?;
        pool.close().await;
        wfm_hrdb::write_sqlite_with(&centre, path, until, &progress).await?
    } else {
        anyhow::bail!("give --postgres URL or --sqlite PATH");
    };
    print_report(
        &report,
        centre.legs.len(),
        gen_secs,
        loading.elapsed().as_secs_f64(),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate(args) => run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
