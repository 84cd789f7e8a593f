//! `wfm-hub project create|list|delete` and `wfm-hub token issue|list|revoke`: they open the
//! store of `hub.toml` `[storage]` (like `serve`, registering the `[[projects]]` first) and
//! record every action in the audit log (principal `cli:<user>`, source `cli`).

use crate::auth::{token_digest_hex, Scope};
use crate::cli::EXIT_FAILURE;
use clap::Subcommand;
use std::path::Path;
use time::OffsetDateTime;
use wfm_config::ConfigError;
use wfm_model::ProjectId;
use wfm_store::{AuditEvent, NewApiToken, ProjectDeletion, Store};

/// Exit code of a usage error (bad argument value).
pub const EXIT_USAGE: i32 = 2;

/// `wfm-hub project …`.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project (or add roles to an existing one).
    Create {
        /// Project id (letters, digits, `-`, `_`).
        id: String,
        /// Display name (default: the id).
        #[arg(long)]
        name: Option<String>,
        /// A role that exists in the project (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// List the projects with their roles and token counts.
    List,
    /// Delete a project with its roles and tokens. Refused while it holds data unless `--yes`,
    /// which deletes the data too. The audit log is kept.
    Delete {
        /// Project id.
        id: String,
        /// Also delete the project's data (directory, runs, intervals, states, schedules, …).
        #[arg(long)]
        yes: bool,
    },
}

/// `wfm-hub token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token and print it once (on stdout; the details go to stderr).
    Issue {
        /// The project the token belongs to.
        #[arg(long)]
        project: String,
        /// `ingest`, `read` or `admin` (repeatable; admin implies the others).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Expiry: a duration (`90d`, `12h`, `30m`, `2w`), a date (`2027-01-31`, midnight UTC)
        /// or an RFC 3339 time. Default: never.
        #[arg(long)]
        expires: Option<String>,
        /// A label to recognise the token by.
        #[arg(long)]
        name: Option<String>,
    },
    /// List tokens (never their secret).
    List {
        /// Only this project's tokens.
        #[arg(long)]
        project: Option<String>,
    },
    /// Revoke a token at once (every hub process sharing the database refuses it).
    Revoke {
        /// Token id (from `token list`).
        id: String,
    },
}

/// Opens the configured store (after loading and validating the config) on a small runtime and
/// runs `f` on it. Config errors exit 78, runtime failures 1.
pub(crate) fn with_store<F, Fut>(config: &Path, f: F) -> i32
where
    F: FnOnce(Store, wfm_config::HubConfig) -> Fut,
    Fut: std::future::Future<Output = i32>,
{
    let config = match wfm_config::load_hub(config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ConfigError::EXIT_CODE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_FAILURE;
        }
    };
    runtime.block_on(async move {
        let store = match crate::server::open_store(&config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e:#}");
                return EXIT_FAILURE;
            }
        };
        f(store, config).await
    })
}

/// The audit principal of the command line.
pub(crate) fn cli_principal() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_string());
    format!("cli:{user}")
}

/// Records a CLI action; a failure to record is reported (exit 1).
pub(crate) async fn audit_cli(
    store: &Store,
    project: Option<&str>,
    action: &str,
    outcome: &str,
    detail: String,
) -> Result<(), i32> {
    let event = AuditEvent {
        at: Some(OffsetDateTime::now_utc()),
        project: project.map(str::to_string),
        principal: Some(cli_principal()),
        source: Some("cli".to_string()),
        action: action.to_string(),
        outcome: outcome.to_string(),
        detail: Some(detail),
    };
    match store.append_audit(&event).await {
        Ok(_) => Ok(()),
        Err(e) => {
            eprintln!("error: cannot write the audit log: {e}");
            Err(EXIT_FAILURE)
        }
    }
}

fn project_id(text: &str) -> Result<ProjectId, i32> {
    ProjectId::new(text).map_err(|e| {
        eprintln!("error: invalid project id '{text}': {e}");
        EXIT_USAGE
    })
}

/// Parses `--expires`: `90d`, `12h`, `30m`, `2w`, `2027-01-31` (midnight UTC) or RFC 3339.
pub fn parse_expiry(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    let hint = "expected a duration such as 90d, 12h, 30m or 2w, a date such as 2027-01-31, or \
                an RFC 3339 time";
    if let Some(unit) = text.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let number = &text[..text.len() - 1];
        if let Ok(n) = number.parse::<i64>() {
            let seconds = match unit {
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return Err(format!("unknown unit '{unit}' in '{text}': {hint}")),
            };
            if n <= 0 || n > 3_650 * 86_400 / seconds {
                return Err(format!("'{text}' must be positive and at most ten years"));
            }
            return Ok(now + time::Duration::seconds(n * seconds));
        }
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = time::Date::parse(text, &date_format) {
        return Ok(date.midnight().assume_utc());
    }
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("cannot read '{text}': {hint}"))
}

/// The exit code of a command's result: 0, or the code it failed with.
fn exit_code(result: Result<(), i32>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(code) => code,
    }
}

/// Prints a store error; answers the exit code of runtime failures.
fn fail(e: wfm_store::StoreError) -> i32 {
    eprintln!("error: {e}");
    EXIT_FAILURE
}

/// Runs `wfm-hub project …`.
pub fn run_project(config: &Path, command: ProjectCommand) -> i32 {
    with_store(config, |store, _| async move {
        exit_code(project(&store, command).await)
    })
}

async fn project(store: &Store, command: ProjectCommand) -> Result<(), i32> {
    match command {
        ProjectCommand::Create { id, name, roles } => {
            let p = project_id(&id)?;
            let existed = store.project_exists(&p).await.map_err(fail)?;
            store
                .ensure_project(&p, name.as_deref(), &roles)
                .await
                .map_err(fail)?;
            let detail = format!("roles: {}", roles.join(" "));
            audit_cli(store, Some(p.as_str()), "project.create", "success", detail).await?;
            if existed {
                println!("project '{p}' already existed; missing roles were added");
            } else {
                println!("project '{p}' created");
            }
        }
        ProjectCommand::List => {
            let projects = store.projects().await.map_err(fail)?;
            audit_cli(store, None, "project.list", "success", String::new()).await?;
            println!(
                "{:<24} {:<24} {:<7} {:<28} ROLES",
                "ID", "NAME", "TOKENS", "CREATED"
            );
            for p in projects {
                println!(
                    "{:<24} {:<24} {:<7} {:<28} {}",
                    p.id,
                    p.name,
                    p.tokens,
                    p.created_at,
                    p.roles.join(",")
                );
            }
        }
        ProjectCommand::Delete { id, yes } => {
            let p = project_id(&id)?;
            let outcome = store.delete_project(&p, yes).await.map_err(fail)?;
            match outcome {
                ProjectDeletion::Deleted { data_rows } => {
                    let detail = format!("deleted with {data_rows} data rows");
                    audit_cli(store, Some(p.as_str()), "project.delete", "success", detail).await?;
                    println!("project '{p}' deleted ({data_rows} data rows removed)");
                }
                ProjectDeletion::HasData { data_rows } => {
                    let detail = format!("refused: {data_rows} data rows");
                    audit_cli(
                        store,
                        Some(p.as_str()),
                        "project.delete",
                        "failure:has_data",
                        detail,
                    )
                    .await?;
                    eprintln!(
                        "error: project '{p}' still holds {data_rows} data rows (directory, runs, \
                         intervals, states, …); nothing was deleted. Re-run with --yes to delete \
                         the project and all its data."
                    );
                    return Err(EXIT_FAILURE);
                }
                ProjectDeletion::NotFound => {
                    audit_cli(
                        store,
                        Some(p.as_str()),
                        "project.delete",
                        "failure:not_found",
                        String::new(),
                    )
                    .await?;
                    eprintln!("error: no project '{p}' (see `wfm-hub project list`)");
                    return Err(EXIT_FAILURE);
                }
            }
        }
    }
    Ok(())
}

/// Runs `wfm-hub token …`.
pub fn run_token(config: &Path, command: TokenCommand) -> i32 {
    with_store(config, |store, _| async move {
        exit_code(token(&store, command).await)
    })
}

async fn token(store: &Store, command: TokenCommand) -> Result<(), i32> {
    let now = OffsetDateTime::now_utc();
    match command {
        TokenCommand::Issue {
            project,
            scopes,
            expires,
            name,
        } => {
            let p = project_id(&project)?;
            let mut parsed = Vec::new();
            for s in &scopes {
                match Scope::parse(s) {
                    Some(scope) if !parsed.contains(&scope) => parsed.push(scope),
                    Some(_) => {}
                    None => {
                        eprintln!("error: unknown scope '{s}': use ingest, read or admin");
                        return Err(EXIT_USAGE);
                    }
                }
            }
            parsed.sort();
            let expires_at = match expires.as_deref().map(|e| parse_expiry(e, now)).transpose() {
                Ok(at) => at,
                Err(message) => {
                    eprintln!("error: --expires: {message}");
                    return Err(EXIT_USAGE);
                }
            };
            if !store.project_exists(&p).await.map_err(fail)? {
                audit_cli(
                    store,
                    Some(p.as_str()),
                    "token.issue",
                    "failure:unknown_project",
                    String::new(),
                )
                .await?;
                eprintln!(
                    "error: no project '{p}': create it first with `wfm-hub project create {p}`"
                );
                return Err(EXIT_FAILURE);
            }
            let (secret, _) = wfm_crypto::generate_token();
            let id = uuid::Uuid::new_v4().to_string();
            let record = NewApiToken {
                id: id.clone(),
                project: p.clone(),
                name: name.clone(),
                digest: token_digest_hex(&secret),
                scopes: parsed.iter().map(|s| s.as_str().to_string()).collect(),
                created_at: now,
                expires_at,
            };
            store.create_api_token(&record).await.map_err(fail)?;
            let detail = format!("token {id} scopes {}", record.scopes.join(" "));
            audit_cli(store, Some(p.as_str()), "token.issue", "success", detail).await?;
            eprintln!("token id: {id}");
            eprintln!("project:  {p}");
            eprintln!("scopes:   {}", record.scopes.join(" "));
            match expires_at {
                Some(at) => eprintln!("expires:  {at}"),
                None => eprintln!("expires:  never"),
            }
            eprintln!("the token (shown only once; the hub keeps only its SHA-256):");
            println!("{secret}");
        }
        TokenCommand::List { project } => {
            let p = project.as_deref().map(project_id).transpose()?;
            let tokens = store.api_tokens(p.as_ref()).await.map_err(fail)?;
            audit_cli(
                store,
                p.as_ref().map(|p| p.as_str()),
                "token.list",
                "success",
                String::new(),
            )
            .await?;
            println!(
                "{:<36} {:<16} {:<18} {:<8} {:<28} {:<28} LAST USED",
                "ID", "PROJECT", "SCOPES", "STATE", "CREATED", "EXPIRES"
            );
            for t in tokens {
                let expired = t
                    .expires_at
                    .as_deref()
                    .and_then(|e| {
                        OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .is_some_and(|at| now >= at);
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if expired {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{:<36} {:<16} {:<18} {:<8} {:<28} {:<28} {}{}",
                    t.id,
                    t.project_id,
                    t.scopes.join(","),
                    state,
                    t.created_at,
                    t.expires_at.as_deref().unwrap_or("never"),
                    t.last_used_at.as_deref().unwrap_or("never"),
                    t.name.map(|n| format!("  ({n})")).unwrap_or_default()
                );
            }
        }
        TokenCommand::Revoke { id } => {
            match store.revoke_api_token(&id, now).await.map_err(fail)? {
                Some(t) => {
                    audit_cli(
                        store,
                        Some(&t.project_id),
                        "token.revoke",
                        "success",
                        format!("token {id}"),
                    )
                    .await?;
                    println!(
                        "token {id} of project '{}' revoked at {}",
                        t.project_id,
                        t.revoked_at.as_deref().unwrap_or("now")
                    );
                }
                None => {
                    audit_cli(
                        store,
                        None,
                        "token.revoke",
                        "failure:not_found",
                        format!("token {id}"),
                    )
                    .await?;
                    eprintln!("error: no token with id '{id}' (see `wfm-hub token list`)");
                    return Err(EXIT_FAILURE);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expiry_accepts_durations_dates_and_times() {
        let now = datetime!(2026-01-01 00:00 UTC);
        assert_eq!(
            parse_expiry("90d", now).unwrap(),
            datetime!(2026-04-01 00:00 UTC)
        );
        assert_eq!(
            parse_expiry("12h", now).unwrap(),
            datetime!(2026-01-01 12:00 UTC)
        );
        assert_eq!(
            parse_expiry("2w", now).unwrap(),
            datetime!(2026-01-15 00:00 UTC)
        );
        assert_eq!(
            parse_expiry("2027-01-31", now).unwrap(),
            datetime!(2027-01-31 00:00 UTC)
        );
        assert_eq!(
            parse_expiry("2027-01-31T10:00:00Z", now).unwrap(),
            datetime!(2027-01-31 10:00 UTC)
        );
        assert!(parse_expiry("5y", now)
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_expiry("0d", now).is_err());
        assert!(parse_expiry("soon", now).unwrap_err().contains("90d"));
    }
}
