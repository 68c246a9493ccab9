//! Where to connect: from a Secrets Manager secret in the RDS format (the Lambda) or from a URL (the CLI).
//!
//! TLS is on by default for every host that is not loopback (`require`; `verify-full` when the secret
//! carries a CA bundle). Nothing here ever shows the password: [`Target`]'s `Display` is
//! `engine://user@host:port/db`, and errors name fields, never values.

use crate::split::Dialect;
use serde::Deserialize;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    Disable,
    /// Encrypted, certificate not checked.
    Require,
    /// Encrypted, certificate checked against the CA bundle (or the system roots) and the host name.
    VerifyFull,
}

impl Tls {
    fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().replace('_', "-").as_str() {
            "disable" | "disabled" => Some(Tls::Disable),
            "require" | "required" => Some(Tls::Require),
            "verify-full" | "verify-identity" | "verify-ca" => Some(Tls::VerifyFull),
            _ => None,
        }
    }
}

/// A database to connect to.
#[derive(Clone)]
pub enum Target {
    Server(Server),
    Sqlite { path: PathBuf },
}

#[derive(Clone)]
pub struct Server {
    pub dialect: Dialect,
    pub host: String,
    pub port: u16,
    pub username: String,
    password: String,
    pub database: Option<String>,
    pub tls: Tls,
    pub ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Server({})", Target::Server(self.clone()))
    }
}

impl Server {
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl Target {
    pub fn dialect(&self) -> Dialect {
        match self {
            Target::Server(server) => server.dialect,
            Target::Sqlite { .. } => Dialect::Sqlite,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            Target::Server(s) => {
                let scheme = if s.dialect == Dialect::Postgres { "postgres" } else { "mysql" };
                write!(f, "{scheme}://{}@{}:{}/{}", s.username, s.host, s.port, s.database.as_deref().unwrap_or(""))
            }
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

/// A secret or URL that does not describe a database. Messages name fields and never contain values
/// (a secret's text may be a password).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "the secret is not a JSON object in the RDS secret format ({{\"engine\", \"host\", \"port\", \"username\", \
         \"password\", \"dbname\"}}): {reason}"
    )]
    SecretFormat { reason: String },
    #[error("the secret has no `{field}`; an RDS secret needs engine, host, username and password")]
    MissingField { field: &'static str },
    #[error(
        "the secret's engine `{engine}` is not supported (postgres, aurora-postgresql, mysql, mariadb, aurora-mysql; \
         sqlite for local use)"
    )]
    Engine { engine: String },
    #[error("the secret's sslmode `{mode}` is not one of disable, require, verify-full")]
    SslMode { mode: String },
    #[error("the URL is not usable: {reason} (expected postgres://, mysql:// or sqlite:// )")]
    Url { reason: String },
}

#[derive(Deserialize)]
struct RdsSecret {
    engine: Option<String>,
    host: Option<String>,
    port: Option<serde_json::Value>,
    username: Option<String>,
    password: Option<String>,
    dbname: Option<String>,
    #[serde(alias = "sslMode", alias = "ssl_mode")]
    sslmode: Option<String>,
    /// A PEM CA bundle, e.g. the RDS global bundle.
    #[serde(alias = "sslrootcert", alias = "ca", alias = "caBundle")]
    ca_pem: Option<String>,
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Reads an RDS-format secret. Unknown keys (e.g. `dbInstanceIdentifier`) are ignored.
pub fn from_secret(text: &str) -> Result<Target, TargetError> {
    let secret: RdsSecret = serde_json::from_str(text).map_err(|e| TargetError::SecretFormat {
        // serde_json's message names the position and the expected type, never the content.
        reason: format!("{} at line {} column {}", classify(&e), e.line(), e.column()),
    })?;
    let engine = secret.engine.ok_or(TargetError::MissingField { field: "engine" })?;
    if engine.eq_ignore_ascii_case("sqlite") {
        // Local use (`cargo lambda watch`, the demo): the database file is `dbname`.
        let path = secret.dbname.filter(|d| !d.is_empty()).ok_or(TargetError::MissingField { field: "dbname" })?;
        return Ok(Target::Sqlite { path: PathBuf::from(path) });
    }
    let dialect = match engine.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" | "aurora-postgresql" => Dialect::Postgres,
        "mysql" | "mariadb" | "aurora-mysql" | "aurora" => Dialect::MySql,
        _ => return Err(TargetError::Engine { engine }),
    };
    let host = secret.host.ok_or(TargetError::MissingField { field: "host" })?;
    let port = match secret.port {
        None => None,
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    let port = port.unwrap_or(if dialect == Dialect::Postgres { 5432 } else { 3306 });
    let tls = match secret.sslmode {
        Some(mode) => Tls::parse(&mode).ok_or(TargetError::SslMode { mode })?,
        None if is_loopback(&host) => Tls::Disable,
        None if secret.ca_pem.is_some() => Tls::VerifyFull,
        None => Tls::Require,
    };
    Ok(Target::Server(Server {
        dialect,
        port,
        username: secret.username.ok_or(TargetError::MissingField { field: "username" })?,
        password: secret.password.ok_or(TargetError::MissingField { field: "password" })?,
        database: secret.dbname.filter(|d| !d.is_empty()),
        tls,
        ca_pem: secret.ca_pem.map(String::into_bytes),
        host,
    }))
}

fn classify(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "a field has the wrong type",
        serde_json::error::Category::Eof => "the JSON ends too early",
    }
}

/// Reads a `postgres://`, `mysql://` (or `mariadb://`) or `sqlite://` URL. TLS defaults as for a secret
/// unless the URL says `sslmode=` / `ssl-mode=`.
pub fn from_url(url: &str) -> Result<Target, TargetError> {
    let bad = |reason: &str| TargetError::Url { reason: reason.to_string() };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("it has no scheme"))?;
    let dialect = match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Dialect::Postgres,
        "mysql" | "mariadb" => Dialect::MySql,
        "sqlite" => {
            let path = rest.split('?').next().unwrap_or(rest);
            if path.is_empty() {
                return Err(bad("the sqlite URL has no file path"));
            }
            return Ok(Target::Sqlite { path: PathBuf::from(path) });
        }
        _ => return Err(bad("the scheme is not postgres, mysql or sqlite")),
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (username, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("an IPv6 host is not closed with ]"))?;
            (host, after.strip_prefix(':'))
        }
        None => match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        },
    };
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad("the port is not a number"))?,
        None if dialect == Dialect::Postgres => 5432,
        None => 3306,
    };
    let mut tls = if is_loopback(host) { Tls::Disable } else { Tls::Require };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if matches!(key, "sslmode" | "ssl-mode" | "ssl_mode") {
            tls = Tls::parse(value).ok_or_else(|| bad("sslmode is not one of disable, require, verify-full"))?;
        }
    }
    let decode = |s: &str| percent_decode(s).ok_or_else(|| bad("a percent-escape is malformed"));
    Ok(Target::Server(Server {
        dialect,
        host: host.to_string(),
        port,
        username: decode(username)?,
        password: decode(password)?,
        database: Some(decode(database)?).filter(|d| !d.is_empty()),
        tls,
        ca_pem: None,
    }))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(target: Target) -> Server {
        match target {
            Target::Server(s) => s,
            Target::Sqlite { .. } => panic!("not a server"),
        }
    }

    #[test]
    fn rds_secrets_with_tls_defaults() {
        let s = server(
            from_secret(r#"{"engine":"postgres","host":"db.abc.eu-west-1.rds.amazonaws.com","port":5432,"username":"app","password":"p@ss","dbname":"shop","dbInstanceIdentifier":"x"}"#)
                .expect("valid"),
        );
        assert_eq!((s.dialect, s.port, s.tls, s.password()), (Dialect::Postgres, 5432, Tls::Require, "p@ss"));
        let local = server(
            from_secret(r#"{"engine":"mariadb","host":"127.0.0.1","port":"3306","username":"root","password":""}"#)
                .expect("valid"),
        );
        assert_eq!((local.dialect, local.tls, local.database), (Dialect::MySql, Tls::Disable, None));
        let with_ca = server(
            from_secret(r#"{"engine":"aurora-mysql","host":"h","username":"u","password":"p","ca_pem":"-----BEGIN"}"#)
                .expect("valid"),
        );
        assert_eq!((with_ca.tls, with_ca.port), (Tls::VerifyFull, 3306));
        let shown = from_secret(r#"{"engine":"postgres","host":"h","username":"u","password":"hunter2","dbname":"d"}"#)
            .expect("valid");
        assert_eq!(shown.to_string(), "postgres://u@h:5432/d");
        assert!(!format!("{shown:?}").contains("hunter2"));
    }

    #[test]
    fn sqlite_secret_for_local_use() {
        let target = from_secret(r#"{"engine":"sqlite","dbname":"/tmp/demo/app.db"}"#).expect("valid");
        assert!(matches!(&target, Target::Sqlite { path } if path == std::path::Path::new("/tmp/demo/app.db")));
        assert_eq!(target.dialect(), Dialect::Sqlite);
        let err = from_secret(r#"{"engine":"SQLite","dbname":""}"#).expect_err("no file");
        assert_eq!(err, TargetError::MissingField { field: "dbname" });
    }

    #[test]
    fn bad_secrets_never_echo_their_content() {
        let err = from_secret("hunter2-not-json").expect_err("not json");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("not valid JSON at line 1 column 1"), "{err}");
        let err = from_secret(r#"{"engine":"postgres","host":"h","username":"u"}"#).expect_err("no password");
        assert_eq!(err, TargetError::MissingField { field: "password" });
        let err = from_secret(r#"{"engine":"oracle","host":"h","username":"u","password":"p"}"#).expect_err("engine");
        assert!(err.to_string().starts_with("the secret's engine `oracle` is not supported"));
        let err = from_secret(r#"{"engine":"postgres","host":"h","username":"u","password":"hunter2","port":["x"]}"#);
        assert!(err.is_ok(), "an unreadable port falls back to the default");
        let err = from_secret(r#"{"engine":"postgres","host":"h","username":"u","password":7}"#).expect_err("type");
        assert!(err.to_string().contains("a field has the wrong type"), "{err}");
    }

    #[test]
    fn urls() {
        let s = server(from_url("postgres://app:s%40cret@db.example.com/shop?sslmode=verify-full").expect("valid"));
        assert_eq!((s.host.as_str(), s.port, s.password(), s.tls), ("db.example.com", 5432, "s@cret", Tls::VerifyFull));
        assert_eq!(s.database.as_deref(), Some("shop"));
        let m = server(from_url("mysql://root@127.0.0.1:3306/test").expect("valid"));
        assert_eq!((m.dialect, m.tls, m.password()), (Dialect::MySql, Tls::Disable, ""));
        let v6 = server(from_url("postgres://u:p@[::1]:6543/d").expect("valid"));
        assert_eq!((v6.host.as_str(), v6.port, v6.tls), ("::1", 6543, Tls::Disable));
        assert!(matches!(from_url("sqlite://./local.db").expect("valid"), Target::Sqlite { .. }));
        assert!(from_url("oracle://x").is_err());
        assert!(from_url("postgres://u:p@h:notaport/d").is_err());
    }
}
