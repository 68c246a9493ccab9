//! UserParameters of the db-deploy action (a JSON object; `secretId` is required).
//!
//! A key that looks like a credential (`password`, `token`, a connection URL, ...) is refused: the pipeline
//! definition, and with it UserParameters, is readable by anyone allowed to view the pipeline
//! (`codepipeline:GetPipeline`), and appears in every job event and in CloudTrail.

use crate::deploy::Mode;
use codepipeline_action::{ActionConfig, ConfigError};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// Secrets Manager secret (name or ARN) in the RDS format.
    pub secret_id: String,
    /// The folder of migrations in the artifact; default: the one folder holding V/R migrations.
    #[serde(default)]
    pub migrations: Option<String>,
    #[serde(default = "default_mode")]
    pub mode: Mode,
    /// Liquibase label expression (`!`, `and`, `or`, `,`, parentheses); absent or `$all` = every changeset.
    #[serde(default)]
    pub labels: Option<String>,
    /// Liquibase contexts of this run; empty = every changeset.
    #[serde(default, deserialize_with = "one_or_many")]
    pub contexts: Vec<String>,
    /// The input artifact's name (default: the first).
    #[serde(default)]
    pub input_artifact: Option<String>,
    /// Apply nothing past this version.
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub out_of_order: bool,
    #[serde(default)]
    pub baseline_version: Option<String>,
    #[serde(default)]
    pub baseline_on_migrate: bool,
    #[serde(default)]
    pub placeholders: BTreeMap<String, String>,
    /// Seconds to wait for another deploy's lock (default 60).
    #[serde(default)]
    pub lock_timeout: Option<u64>,
    /// Seconds one statement may run (default: the time left in the invocation).
    #[serde(default)]
    pub statement_timeout: Option<u64>,
    /// The history table (default flyway_schema_history).
    #[serde(default)]
    pub history_table: Option<String>,
    /// The rules file in the artifact (default: db-deploy.toml in the migrations folder, if present).
    #[serde(default)]
    pub rules_file: Option<String>,
    /// The pipeline's word on `-- db-deploy:allow` comments, over the rules file's.
    #[serde(default)]
    pub allow_suppressions: Option<bool>,
}

/// `"a,b"` or `["a", "b"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
        OneOrMany::Many(list) => list,
    })
}

fn default_mode() -> Mode {
    Mode::Deploy
}

/// Key fragments that mark a credential (compared without case, `_` and `-`).
const CREDENTIAL_WORDS: &[&str] =
    &["password", "passwd", "pwd", "token", "apikey", "accesskey", "secretkey", "credential", "privatekey"];
/// Whole keys that carry a credential or a connection string.
const CREDENTIAL_KEYS: &[&str] = &["secret", "url", "dsn", "connectionstring", "connection", "uri", "jdbcurl"];

/// The first key (at any depth) that looks like a credential.
fn credential_key(value: &serde_json::Value, path: &str) -> Option<String> {
    let serde_json::Value::Object(map) = value else { return None };
    for (key, inner) in map {
        let compact: String = key.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase();
        let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        if CREDENTIAL_KEYS.contains(&compact.as_str()) || CREDENTIAL_WORDS.iter().any(|w| compact.contains(w)) {
            return Some(here);
        }
        if let Some(found) = credential_key(inner, &here) {
            return Some(found);
        }
    }
    None
}

/// Why UserParameters with a credential in it is refused (no value is ever repeated).
pub fn credential_message(key: &str) -> String {
    format!(
        "UserParameters has `{key}`, which looks like a credential; it was not used. UserParameters is part of the \
         pipeline definition: anyone who can view the pipeline (codepipeline:GetPipeline), every job event and \
         CloudTrail can read it. Put the credentials in a Secrets Manager secret in the RDS format (engine, host, \
         port, username, password, dbname) and give its name or ARN as `secretId`."
    )
}

/// The action's configuration as UserParameters gives it: credentials are refused before the fields are read.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameters(pub Config);

impl<'de> Deserialize<'de> for Parameters {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if let Some(key) = credential_key(&value, "") {
            return Err(serde::de::Error::custom(credential_message(&key)));
        }
        serde_path_to_error::deserialize(value).map(Parameters).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner().to_string();
            if path == "." || path.is_empty() || inner.starts_with("unknown field") {
                serde::de::Error::custom(inner)
            } else {
                serde::de::Error::custom(format!("at `{path}`: {inner}"))
            }
        })
    }
}

impl ActionConfig for Parameters {
    fn from_absent() -> Result<Self, ConfigError> {
        Err(ConfigError::invalid(
            "UserParameters is empty; db-deploy needs at least {\"secretId\": \"<Secrets Manager secret name or ARN>\"}",
        ))
    }

    fn from_text(_text: &str) -> Result<Self, ConfigError> {
        // The text is not repeated: it may be a connection string with a password in it.
        Err(ConfigError::invalid(
            "UserParameters is a plain string; db-deploy needs a JSON object such as {\"secretId\": \"prod/app/db\", \
             \"mode\": \"deploy\"} (the string is not repeated here: if it holds a credential, rotate it and use a \
             Secrets Manager secret)",
        ))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let config = &self.0;
        if config.secret_id.trim().is_empty() {
            return Err(ConfigError::invalid("UserParameters at `secretId`: the secret's name or ARN is empty"));
        }
        for (field, value) in [("target", &config.target), ("baselineVersion", &config.baseline_version)] {
            if let Some(text) = value {
                crate::version::Version::parse(text)
                    .map_err(|e| ConfigError::invalid(format!("UserParameters at `{field}`: {e}")))?;
            }
        }
        if let Some(labels) = &config.labels {
            crate::liquibase::Expr::parse(labels)
                .map_err(|e| ConfigError::invalid(format!("UserParameters at `labels`: {e}")))?;
        }
        if config.lock_timeout == Some(0) {
            return Err(ConfigError::invalid("UserParameters at `lockTimeout`: must be at least 1 second"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codepipeline_action::params::parse_user_parameters;

    #[test]
    fn defaults_and_fields() {
        let Parameters(config) = parse_user_parameters(Some(
            r#"{"secretId": "prod/db", "mode": "forecast", "placeholders": {"schema": "app"}, "lockTimeout": 5}"#,
        ))
        .expect("valid");
        assert_eq!(config.mode, Mode::Forecast);
        assert_eq!(config.placeholders["schema"], "app");
        let Parameters(config) = parse_user_parameters(Some(r#"{"secretId": "prod/db"}"#)).expect("valid");
        assert_eq!(config.mode, Mode::Deploy);
        let Parameters(config) =
            parse_user_parameters(Some(r#"{"secretId": "d", "labels": "core and !slow", "contexts": "prod, eu"}"#))
                .expect("valid");
        assert_eq!(config.contexts, ["prod", "eu"]);
        assert_eq!(config.labels.as_deref(), Some("core and !slow"));
    }

    #[test]
    fn bad_parameters_name_the_problem() {
        let error = |raw: &str| parse_user_parameters::<Parameters>(Some(raw)).expect_err("invalid").to_string();
        assert!(error(r#"{"mode": "deploy"}"#).contains("missing field `secretId`"));
        assert!(error(r#"{"secretId": "x", "mode": "apply"}"#).contains("unknown variant `apply`"));
        assert!(error(r#"{"secretId": "x", "target": "v2"}"#).contains("`target`: `v2` is not a version"));
        assert!(error("prod/db").contains("needs a JSON object"));
        assert!(!error("postgres://admin:S3cret@db/app").contains("S3cret"));
        assert!(error(r#"{"secretId": "x", "label": "a"}"#).contains("unknown field `label`"));
        assert!(
            error(r#"{"secretId": "x", "labels": "a and"}"#)
                .contains("`labels`: `a and` is not a label/context expression")
        );
        assert!(error(r#"{"secretId": "x", "lockTimeout": "soon"}"#).contains("at `lockTimeout`: invalid type"));
    }

    #[test]
    fn credentials_are_refused_wherever_they_are() {
        for raw in [
            r#"{"secretId": "x", "password": "hunter2"}"#,
            r#"{"secretId": "x", "DB_PASSWORD": "hunter2"}"#,
            r#"{"secretId": "x", "url": "postgres://u:p@h/d"}"#,
            r#"{"secretId": "x", "placeholders": {"apiToken": "t"}}"#,
            r#"{"connectionString": "Server=h;Pwd=x"}"#,
        ] {
            let error = parse_user_parameters::<Parameters>(Some(raw)).expect_err(raw).to_string();
            assert!(error.contains("looks like a credential"), "{error}");
            assert!(!error.contains("hunter2"));
            assert!(error.contains("`secretId`"));
        }
        assert!(
            parse_user_parameters::<Parameters>(Some(r#"{"secretId": "prod/db", "placeholders": {"owner": "app"}}"#))
                .is_ok()
        );
    }
}
