//! Reading a config file: TOML → `${ENV}` expansion → `*_file` secrets → typed → validated.

use crate::{issue, ConfigError, ConfigIssue, HubConfig, ImporterConfig};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Keys whose value may instead come from a `<key>_file` path.
const SECRET_KEYS: [&str; 5] = [
    "password",
    "token",
    "client_secret",
    "client_password",
    "secret_access_key",
];

/// Loads, expands and validates an importer config file.
pub fn load_importer(path: &Path) -> Result<ImporterConfig, ConfigError> {
    let text = read(path)?;
    parse_importer(&text, &path.display().to_string(), &|k| {
        std::env::var(k).ok()
    })
}

/// Loads, expands and validates a hub config file.
pub fn load_hub(path: &Path) -> Result<HubConfig, ConfigError> {
    let text = read(path)?;
    parse_hub(&text, &path.display().to_string(), &|k| {
        std::env::var(k).ok()
    })
}

/// Parses importer config text; `env` looks up `${VAR}` values (injected for tests).
pub fn parse_importer(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ImporterConfig, ConfigError> {
    let config: ImporterConfig = parse(text, file, env)?;
    finish(config.validate(), file, config)
}

/// Parses hub config text; `env` looks up `${VAR}` values (injected for tests).
pub fn parse_hub(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<HubConfig, ConfigError> {
    let config: HubConfig = parse(text, file, env)?;
    finish(config.validate(), file, config)
}

fn finish<T>(issues: Vec<ConfigIssue>, file: &str, config: T) -> Result<T, ConfigError> {
    if issues.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid {
            file: file.to_string(),
            issues,
        })
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn parse<T: DeserializeOwned>(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<T, ConfigError> {
    let invalid = |issues: Vec<ConfigIssue>| ConfigError::Invalid {
        file: file.to_string(),
        issues,
    };
    let mut table: toml::Table = toml::from_str(text).map_err(|e| {
        invalid(vec![issue(
            "",
            format!("not valid TOML: {}", e.to_string().trim()),
        )])
    })?;
    let mut issues = Vec::new();
    expand_table(&mut table, "", env, &mut issues);
    if !issues.is_empty() {
        return Err(invalid(issues));
    }
    let mut unknown = Vec::new();
    let mut on_unknown =
        |path: serde_ignored::Path<'_>| unknown.push(path.to_string().replace(".?", ""));
    let deserializer = serde_ignored::Deserializer::new(toml::Value::Table(table), &mut on_unknown);
    let result: Result<T, _> = serde_path_to_error::deserialize(deserializer);
    for path in unknown {
        issues.push(issue(
            path,
            "unknown key (check the spelling against config/examples)",
        ));
    }
    match result {
        Ok(value) if issues.is_empty() => Ok(value),
        Ok(_) => Err(invalid(issues)),
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            issues.push(issue(path, e.into_inner().to_string()));
            Err(invalid(issues))
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn expand_table(
    table: &mut toml::Table,
    prefix: &str,
    env: &dyn Fn(&str) -> Option<String>,
    issues: &mut Vec<ConfigIssue>,
) {
    let keys: Vec<String> = table.keys().cloned().collect();
    for key in keys {
        let path = join(prefix, &key);
        if let Some(value) = table.get_mut(&key) {
            expand_value(value, &path, env, issues);
        }
    }
    for secret in SECRET_KEYS {
        let file_key = format!("{secret}_file");
        let Some(file_value) = table.remove(&file_key) else {
            continue;
        };
        let path = join(prefix, &file_key);
        if table.contains_key(secret) {
            issues.push(issue(
                path,
                format!("both {secret} and {file_key} are set; keep one"),
            ));
            continue;
        }
        let Some(file) = file_value.as_str() else {
            issues.push(issue(path, "must be a file path string"));
            continue;
        };
        match std::fs::read_to_string(file) {
            Ok(content) => {
                let content = content.trim_end_matches(['\n', '\r']).to_string();
                table.insert(secret.to_string(), toml::Value::String(content));
            }
            Err(e) => issues.push(issue(
                path,
                format!("cannot read secret file '{file}': {e}"),
            )),
        }
    }
}

fn expand_value(
    value: &mut toml::Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    issues: &mut Vec<ConfigIssue>,
) {
    match value {
        toml::Value::String(s) => match expand_env(s, env) {
            Ok(expanded) => *s = expanded,
            Err(message) => issues.push(issue(path, message)),
        },
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_value(item, &format!("{path}[{i}]"), env, issues);
            }
        }
        toml::Value::Table(t) => expand_table(t, path, env, issues),
        _ => {}
    }
}

/// Replaces `${NAME}` with the variable's value; `$${` is a literal `${`.
fn expand_env(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if !s.contains('$') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(stripped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = stripped;
        } else if let Some(body) = after.strip_prefix("${") {
            let Some(end) = body.find('}') else {
                return Err("unterminated ${ in value".to_string());
            };
            let name = &body[..end];
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "'${{{name}}}' is not a valid environment variable reference"
                ));
            }
            match env(name) {
                Some(v) => out.push_str(&v),
                None => {
                    return Err(format!(
                        "environment variable {name} is not set (referenced as ${{{name}}})"
                    ))
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests;
