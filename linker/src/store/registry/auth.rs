//! Registry credentials: given, from the environment, or from the Docker
//! client's `~/.docker/config.json` (`auths.<host>.auth`, base64 of
//! `user:password`, or `username`/`password`). Credential helpers
//! (`credsStore`) are not run.

use base64::Engine;
use oci_client::secrets::RegistryAuth;

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials.
    Anonymous,
    /// HTTP basic (also used to obtain a bearer token where the registry
    /// asks for one).
    Basic {
        /// User name.
        user: String,
        /// Password or token.
        password: String,
    },
    /// A bearer token, sent as it is.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Credentials::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

impl Credentials {
    pub(crate) fn to_auth(&self) -> RegistryAuth {
        match self {
            Credentials::Anonymous => RegistryAuth::Anonymous,
            Credentials::Basic { user, password } => RegistryAuth::Basic(user.clone(), password.clone()),
            Credentials::Bearer(t) => RegistryAuth::Bearer(t.clone()),
        }
    }
}

/// The credentials for `host`: `WELD_REGISTRY_USER` and
/// `WELD_REGISTRY_PASSWORD` when both are set (and `WELD_REGISTRY_HOST`, if
/// set, is `host`), else the Docker config's
/// entry for the host (`$DOCKER_CONFIG/config.json`, default
/// `~/.docker/config.json`), else anonymous. A config that cannot be read
/// or parsed is an error naming the file.
pub fn credentials_for(host: &str) -> Result<Credentials, CredentialsError> {
    // Scoped by WELD_REGISTRY_HOST when it is set, so credentials meant
    // for one registry are not sent to another.
    let scoped = std::env::var("WELD_REGISTRY_HOST").map_or(true, |h| h == host);
    if let (true, Ok(user), Ok(password)) = (
        scoped,
        std::env::var("WELD_REGISTRY_USER"),
        std::env::var("WELD_REGISTRY_PASSWORD"),
    ) {
        return Ok(Credentials::Basic { user, password });
    }
    let dir = match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => std::path::PathBuf::from(d),
        None => match std::env::var_os("HOME") {
            Some(h) => std::path::PathBuf::from(h).join(".docker"),
            None => return Ok(Credentials::Anonymous),
        },
    };
    let path = dir.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::Anonymous),
        Err(e) => {
            return Err(CredentialsError {
                file: path,
                problem: DockerConfigProblem::Read(e),
            })
        }
    };
    from_docker_config(&text, host).map_err(|problem| CredentialsError { file: path, problem })
}

/// A Docker config that cannot give credentials.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", file.display())]
pub struct CredentialsError {
    /// The config file.
    pub file: std::path::PathBuf,
    /// What is wrong with it.
    #[source]
    pub problem: DockerConfigProblem,
}

/// What is wrong with a Docker config.
#[derive(Debug, thiserror::Error)]
pub enum DockerConfigProblem {
    /// The file cannot be read.
    #[error("{0}")]
    Read(std::io::Error),
    /// The file is not JSON.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// An `auth` entry that is not base64.
    #[error("auths.{host}.auth is not base64: {source}")]
    NotBase64 {
        /// The registry host.
        host: String,
        /// The decoder's error.
        source: base64::DecodeError,
    },
    /// An `auth` entry that is not UTF-8 text.
    #[error("auths.{host}.auth is not UTF-8")]
    NotUtf8 {
        /// The registry host.
        host: String,
    },
    /// An `auth` entry without a colon.
    #[error("auths.{host}.auth is not user:password")]
    NotUserPassword {
        /// The registry host.
        host: String,
    },
}

/// The entry for `host` in a Docker config's `auths`.
pub(crate) fn from_docker_config(text: &str, host: &str) -> Result<Credentials, DockerConfigProblem> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(DockerConfigProblem::NotJson)?;
    let Some(auths) = v.get("auths").and_then(|a| a.as_object()) else {
        return Ok(Credentials::Anonymous);
    };
    // Keys may be a bare host or a URL (`https://host/v1/`).
    let entry = auths.iter().find(|(k, _)| {
        let k = k.trim_start_matches("https://").trim_start_matches("http://");
        k.split('/').next() == Some(host)
    });
    let Some((_, entry)) = entry else {
        return Ok(Credentials::Anonymous);
    };
    if let (Some(u), Some(p)) = (
        entry.get("username").and_then(|u| u.as_str()),
        entry.get("password").and_then(|p| p.as_str()),
    ) {
        return Ok(Credentials::Basic {
            user: u.to_string(),
            password: p.to_string(),
        });
    }
    if let Some(token) = entry.get("registrytoken").and_then(|t| t.as_str()) {
        return Ok(Credentials::Bearer(token.to_string()));
    }
    let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) else {
        return Ok(Credentials::Anonymous);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|source| DockerConfigProblem::NotBase64 {
            host: host.to_string(),
            source,
        })?;
    let decoded = String::from_utf8(decoded).map_err(|_| DockerConfigProblem::NotUtf8 {
        host: host.to_string(),
    })?;
    let Some((user, password)) = decoded.split_once(':') else {
        return Err(DockerConfigProblem::NotUserPassword {
            host: host.to_string(),
        });
    };
    Ok(Credentials::Basic {
        user: user.to_string(),
        password: password.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_entries_are_read_by_host() {
        let cfg = r#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNz"},"https://ghcr.io/v1/":{"username":"a","password":"b"}}}"#;
        let basic = |u: &str, p: &str| Credentials::Basic {
            user: u.to_string(),
            password: p.to_string(),
        };
        assert_eq!(
            from_docker_config(cfg, "127.0.0.1:5000").unwrap(),
            basic("user", "pass")
        );
        assert_eq!(from_docker_config(cfg, "ghcr.io").unwrap(), basic("a", "b"));
        assert_eq!(
            from_docker_config(cfg, "quay.io").unwrap(),
            Credentials::Anonymous
        );
        assert!(from_docker_config(r#"{"auths":{"h":{"auth":"!!"}}}"#, "h").is_err());
    }
}
