//! Rule settings: defaults, overridden by a rules file in the artifact (TOML), overridden in turn by the
//! pipeline's own configuration (`allowSuppressions` in UserParameters), which migration authors cannot change.
//!
//! ```toml
//! allow-suppressions = true
//!
//! [rules]
//! table-without-primary-key = "error"          # "off", "warning" or "error"
//! rename-column = "off"
//! index-too-many-columns = { severity = "error", max-columns = 4 }
//! ```

use super::{RuleId, Severity};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSetting {
    pub enabled: bool,
    pub severity: Severity,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    rules: HashMap<RuleId, RuleSetting>,
    /// `index-too-many-columns`: most columns an index may have (the reference's rule: 3).
    pub max_index_columns: usize,
    /// Whether `-- db-deploy:allow` comments are honoured.
    pub allow_suppressions: bool,
}

impl Default for Settings {
    fn default() -> Self {
        let rules = RuleId::ALL
            .iter()
            .map(|&id| (id, RuleSetting { enabled: id.meta().enabled, severity: id.meta().severity }))
            .collect();
        Self { rules, max_index_columns: 3, allow_suppressions: true }
    }
}

/// A rules file that cannot be used; the job fails rather than run with rules the author did not mean.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{file}: not valid TOML: {source}")]
    Toml {
        file: String,
        #[source]
        source: toml::de::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

impl Settings {
    pub fn rule(&self, id: RuleId) -> RuleSetting {
        self.rules[&id]
    }

    /// Applies a rules file's settings over the current ones.
    pub fn apply_rules_file(&mut self, file: &str, text: &str) -> Result<(), SettingsError> {
        let invalid = |message: String| SettingsError::Invalid { file: file.to_string(), message };
        let value: toml::Table =
            toml::from_str(text).map_err(|source| SettingsError::Toml { file: file.to_string(), source })?;
        for (key, value) in &value {
            match key.as_str() {
                "allow-suppressions" => {
                    self.allow_suppressions =
                        value.as_bool().ok_or_else(|| invalid("allow-suppressions must be true or false".into()))?;
                }
                "rules" => {
                    let table = value.as_table().ok_or_else(|| invalid("[rules] must be a table".into()))?;
                    for (name, setting) in table {
                        let id = RuleId::parse(name).ok_or_else(|| {
                            invalid(format!(
                                "unknown rule `{name}` in [rules]; the rules are: {}",
                                RuleId::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                            ))
                        })?;
                        self.apply_rule(id, setting).map_err(|m| invalid(format!("rules.{name}: {m}")))?;
                    }
                }
                other => {
                    return Err(invalid(format!("unknown key `{other}` (known: allow-suppressions, rules)")));
                }
            }
        }
        Ok(())
    }

    fn apply_rule(&mut self, id: RuleId, value: &toml::Value) -> Result<(), String> {
        let level = |text: &str| -> Result<Option<Severity>, String> {
            match text {
                "off" => Ok(None),
                "warning" => Ok(Some(Severity::Warning)),
                "error" => Ok(Some(Severity::Error)),
                other => Err(format!("`{other}` is not a level (off, warning or error)")),
            }
        };
        let setting = self.rules.get_mut(&id).expect("every rule has a setting");
        match value {
            toml::Value::String(text) => match level(text)? {
                None => setting.enabled = false,
                Some(severity) => *setting = RuleSetting { enabled: true, severity },
            },
            toml::Value::Table(table) => {
                for (key, value) in table {
                    match (key.as_str(), value) {
                        ("severity", toml::Value::String(text)) => match level(text)? {
                            None => setting.enabled = false,
                            Some(severity) => *setting = RuleSetting { enabled: true, severity },
                        },
                        ("enabled", toml::Value::Boolean(enabled)) => setting.enabled = *enabled,
                        ("max-columns", toml::Value::Integer(n)) if id == RuleId::IndexTooManyColumns => {
                            self.max_index_columns =
                                usize::try_from(*n).ok().filter(|n| *n >= 1).ok_or("max-columns must be at least 1")?;
                            return self.apply_rule_rest(id, table);
                        }
                        (key, _) => {
                            let known = if id == RuleId::IndexTooManyColumns {
                                "severity, enabled, max-columns"
                            } else {
                                "severity, enabled"
                            };
                            return Err(format!(
                                "`{key}` is not a setting of this rule or has the wrong type ({known})"
                            ));
                        }
                    }
                }
            }
            _ => return Err("give a level (\"off\", \"warning\", \"error\") or a table".into()),
        }
        Ok(())
    }

    /// The other keys of a rule's table once `max-columns` is taken.
    fn apply_rule_rest(&mut self, id: RuleId, table: &toml::Table) -> Result<(), String> {
        let mut rest = table.clone();
        rest.remove("max-columns");
        if rest.is_empty() { Ok(()) } else { self.apply_rule(id, &toml::Value::Table(rest)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_tables_and_errors() {
        let mut settings = Settings::default();
        settings
            .apply_rules_file(
                "db-deploy.toml",
                "allow-suppressions = false\n[rules]\nrename-column = \"off\"\ntable-without-primary-key = \"error\"\n\
                 index-too-many-columns = { severity = \"warning\", max-columns = 5 }\n",
            )
            .expect("valid");
        assert!(!settings.allow_suppressions);
        assert!(!settings.rule(RuleId::RenameColumn).enabled);
        assert_eq!(settings.rule(RuleId::TableWithoutPrimaryKey).severity, Severity::Error);
        assert_eq!(settings.rule(RuleId::IndexTooManyColumns).severity, Severity::Warning);
        assert_eq!(settings.max_index_columns, 5);

        let err = Settings::default().apply_rules_file("r.toml", "[rules]\nno-such = \"off\"").expect_err("unknown");
        assert!(err.to_string().starts_with("r.toml: unknown rule `no-such` in [rules]; the rules are: "), "{err}");
        let err = Settings::default().apply_rules_file("r.toml", "[rules]\ndrop-table = \"loud\"").expect_err("level");
        assert_eq!(err.to_string(), "r.toml: rules.drop-table: `loud` is not a level (off, warning or error)");
        let err = Settings::default()
            .apply_rules_file("r.toml", "[rules]\ndrop-table = { max-columns = 2 }")
            .expect_err("not its setting");
        assert!(err.to_string().contains("`max-columns` is not a setting of this rule"), "{err}");
        let err = Settings::default()
            .apply_rules_file("r.toml", "[rules]\nindex-too-many-columns = { max-columns = 0 }")
            .expect_err("zero");
        assert_eq!(err.to_string(), "r.toml: rules.index-too-many-columns: max-columns must be at least 1");
        assert!(matches!(Settings::default().apply_rules_file("r.toml", "rules = ["), Err(SettingsError::Toml { .. })));
    }
}
