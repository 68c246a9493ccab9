//! Migration versions as Flyway reads them: parts split on `.` or `_`, each a non-negative integer of any
//! size, compared numerically, trailing zero parts ignored (`1.0` == `1`, `1.01` == `1.1`).

use std::cmp::Ordering;
use std::fmt;

/// A migration version. Equality and order are numeric; [`Version::as_str`] keeps the text Flyway stores
/// (underscores become dots, leading zeros kept).
#[derive(Clone, Debug)]
pub struct Version {
    text: String,
    /// Each part without leading zeros ("" for zero), trailing zero parts removed.
    parts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a version: {reason} (versions are numbers separated by `.` or `_`, e.g. 1, 1.2, 2_1_0)")]
pub struct VersionError {
    pub text: String,
    pub reason: &'static str,
}

impl Version {
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let error = |reason| VersionError { text: text.to_string(), reason };
        if text.is_empty() {
            return Err(error("it is empty"));
        }
        let dotted = text.replace('_', ".");
        let mut parts = Vec::new();
        for part in dotted.split('.') {
            if part.is_empty() {
                return Err(error("a part is empty"));
            }
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error("a part is not a number"));
            }
            parts.push(part.trim_start_matches('0').to_string());
        }
        while parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
        Ok(Self { text: dotted, parts })
    }

    /// The version as Flyway writes it in `flyway_schema_history.version`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn compare_part(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.parts.len().max(other.parts.len());
        for i in 0..len {
            let a = self.parts.get(i).map_or("", String::as_str);
            let b = other.parts.get(i).map_or("", String::as_str);
            match compare_part(a, b) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).expect("version")
    }

    #[test]
    fn numeric_order_with_trailing_zeros_ignored() {
        assert!(v("2") > v("1.9"));
        assert!(v("1.10") > v("1.9"));
        assert!(v("1.2.1") > v("1.2"));
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1.01"), v("1.1"));
        assert_eq!(v("1_1"), v("1.1"));
        assert_eq!(v("1_1").as_str(), "1.1");
        assert_eq!(v("007").as_str(), "007");
        assert!(v("123456789012345678901234567890") > v("123456789012345678901234567889"));
        assert_eq!(v("0"), v("0.0"));
        assert!(v("0.1") > v("0"));
    }

    #[test]
    fn malformed_versions_say_why() {
        assert_eq!(Version::parse("").expect_err("empty").reason, "it is empty");
        assert_eq!(Version::parse("1..2").expect_err("empty part").reason, "a part is empty");
        assert_eq!(Version::parse("1.a").expect_err("letters").reason, "a part is not a number");
        assert!(Version::parse("1.").is_err());
        assert_eq!(
            Version::parse("1.a").expect_err("letters").to_string(),
            "`1.a` is not a version: a part is not a number (versions are numbers separated by `.` or `_`, e.g. 1, \
             1.2, 2_1_0)"
        );
    }
}
