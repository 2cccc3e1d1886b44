//! An OCI registry as the other end of a store (DESIGN §3 push/pull),
//! through `oci-client`: [`push`] copies an app's artifact from any
//! [`BlobStore`] to a registry, [`pull`] copies one from a registry into
//! any [`BlobStore`]. The store is the blob source or sink, so a toolchain
//! can push from memory ([`MemoryStore`](crate::MemoryStore)).
//!
//! The calls are blocking: a [`Registry`] owns a small tokio runtime and
//! runs each transfer on it (do not call them from inside another tokio
//! runtime). Transport: HTTPS, except for the hosts named in
//! [`RegistryOptions::insecure`]. Authentication: anonymous, HTTP basic, or
//! the registry's bearer-token flow (which `oci-client` follows, with the
//! basic credentials if given).

pub(crate) mod auth;
pub(crate) mod locations;
pub(crate) mod pull;
pub(crate) mod push;
pub(crate) mod retry;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::Reference;

use super::StoreError;

pub use auth::{credentials_for, Credentials, CredentialsError, DockerConfigProblem};
pub use locations::BlobLocations;
pub use pull::{pull, tags, PullOptions, PullReport};
pub use push::{push, BlobPush, ProgressFn, PushOptions, PushReport, Transfer};
pub use retry::RetryPolicy;

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Hosts (`host` or `host:port`) spoken to over plain HTTP. Every other
    /// host is HTTPS only.
    pub insecure: Vec<String>,
    /// Credentials, by registry host; hosts not listed are anonymous.
    pub credentials: Vec<(String, Credentials)>,
    /// Blobs transferred at once (0: 4).
    pub jobs: usize,
    /// How requests that failed in a way that may pass are tried again.
    pub retry: RetryPolicy,
    /// The longest wait for a byte of an answer (none: 60 s). A stalled
    /// body fails, and is retried.
    pub read_timeout: Option<std::time::Duration>,
}

/// A client for OCI registries.
pub struct Registry {
    client: oci_client::Client,
    runtime: tokio::runtime::Runtime,
    opts: RegistryOptions,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("opts", &self.opts).finish()
    }
}

impl Registry {
    /// A client with these options.
    pub fn new(opts: RegistryOptions) -> Result<Registry, RegistryError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| RegistryError::Client(format!("cannot start the I/O runtime: {e}")))?;
        let config = ClientConfig {
            protocol: if opts.insecure.is_empty() {
                ClientProtocol::Https
            } else {
                ClientProtocol::HttpsExcept(opts.insecure.clone())
            },
            // One PUT per blob, streamed, rather than a PATCH per chunk.
            use_monolithic_push: true,
            max_concurrent_upload: opts.jobs(),
            max_concurrent_download: opts.jobs(),
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            read_timeout: Some(opts.read_timeout.unwrap_or(std::time::Duration::from_secs(60))),
            ..ClientConfig::default()
        };
        Ok(Registry {
            client: oci_client::Client::new(config),
            runtime,
            opts,
        })
    }

    /// Signs in for `op` on `r`'s repository; returns the client to send
    /// the requests with.
    pub(crate) async fn session(
        &self,
        r: &Reference,
        op: oci_client::RegistryOperation,
    ) -> Result<&oci_client::Client, RegistryError> {
        let what = match op {
            oci_client::RegistryOperation::Push => "sign-in for push",
            oci_client::RegistryOperation::Pull => "sign-in for pull",
        };
        // A token, where the registry hands them out, is cached by the
        // client for the requests that follow. (A registry that asks for no
        // sign-in at all is probed at `/v2/` again before each request:
        // oci-client caches no token when there is none. One client is still
        // cheaper than two: each loads the system's root certificates.)
        retry::retry(&self.opts.retry, || async {
            self.client
                .auth(r, &self.auth(r), op)
                .await
                .map_err(|e| self.at(r, what.to_string()).error(e))
        })
        .await?;
        Ok(&self.client)
    }

    /// Where in this registry an operation on `r` is, for its errors.
    pub(crate) fn at<'r>(&self, r: &'r Reference, what: String) -> At<'r> {
        At {
            reference: r,
            what,
            insecure: self.is_insecure(r.registry()),
        }
    }

    fn auth(&self, r: &Reference) -> RegistryAuth {
        match self.opts.credentials.iter().find(|(h, _)| h == r.registry()) {
            Some((_, c)) => c.to_auth(),
            None => RegistryAuth::Anonymous,
        }
    }

    fn is_insecure(&self, host: &str) -> bool {
        self.opts.insecure.iter().any(|h| h == host)
    }
}

impl RegistryOptions {
    fn jobs(&self) -> usize {
        if self.jobs == 0 {
            4
        } else {
            self.jobs
        }
    }
}

/// The reference grammar of the OCI distribution spec (`name[:tag][@digest]`,
/// name = `host[:port]/path`), ASCII only: a host of dot-separated
/// components (or `[IPv6]`) with an optional port, lowercase path components
/// joined by `.`, `_`, `__` or dashes, a tag of up to 128 word characters,
/// dots and dashes, and an `algorithm:hex` digest. (oci-spec's own parser
/// compiles a Unicode-aware pattern on first use, which costs more than the
/// rest of a small pull; its references are built from these parts.)
fn reference_grammar() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        let component = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
        let host = format!(r"(?:{component}(?:\.{component})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?");
        let path_component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
        let pattern = format!(
            r"(?-u)^({host})/({path_component}(?:/{path_component})*)(?::(\w[\w.-]{{0,127}}))?(?:@([a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{{32,}}))?$"
        );
        regex::Regex::new(&pattern).expect("the reference grammar compiles")
    })
}

/// A parsed `host[:port]/repository[:tag|@digest]`. The host must be given
/// (a bare `repo:tag` would silently mean Docker Hub); with neither tag nor
/// digest the tag is `latest`.
pub fn parse_reference(s: &str) -> Result<Reference, RegistryError> {
    let refuse = |reason: &str| RegistryError::Reference {
        reference: s.to_string(),
        reason: reason.to_string(),
    };
    let first = s.split('/').next().unwrap_or("");
    if !s.contains('/')
        || !(first.contains('.') || first.contains(':') || first == "localhost" || first.starts_with('['))
    {
        return Err(refuse(
            "name the registry host: host[:port]/repository[:tag|@digest]",
        ));
    }
    let Some(c) = reference_grammar().captures(s) else {
        return Err(refuse(
            "not a reference: host[:port]/repository[:tag|@digest], the repository in lowercase letters, digits and . _ - separators",
        ));
    };
    let registry = c[1].to_string();
    let repository = c[2].to_string();
    if repository.len() > 255 {
        return Err(refuse("the repository name is longer than 255 characters"));
    }
    let tag = c.get(3).map(|m| m.as_str().to_string());
    let digest = c.get(4).map(|m| m.as_str().to_string());
    if let Some(d) = &digest {
        match d.split_once(':') {
            Some(("sha256", hex)) if hex.len() == 64 => {}
            Some(("sha256", _)) => return Err(refuse("a sha256 digest has 64 hex digits")),
            _ => return Err(refuse("only sha256 digests are supported")),
        }
    }
    Ok(match (tag, digest) {
        (Some(t), Some(d)) => Reference::with_tag_and_digest(registry, repository, t, d),
        (None, Some(d)) => Reference::with_digest(registry, repository, d),
        (t, None) => Reference::with_tag(registry, repository, t.unwrap_or_else(|| "latest".to_string())),
    })
}

/// What can go wrong talking to a registry. Each variant names the
/// registry, the repository and what was being moved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry answered with an HTTP error.
    #[error("registry {registry}, repository {repository}: {what}: HTTP {status}{}{}", message_part(.message), hint(*.status, .what))]
    Status {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// What was asked (`blob sha256:…`, `manifest 1.0`, …).
        what: String,
        /// The HTTP status.
        status: u16,
        /// What the registry said, if anything.
        message: String,
    },
    /// The registry could not be reached, or broke the protocol.
    #[error("registry {registry}, repository {repository}: {what}: {reason}")]
    Failed {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// What was asked.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// Bytes the registry served do not hash to the digest they were asked
    /// by. Nothing was written.
    #[error("registry {registry}, repository {repository}: blob {digest} is corrupt: the bytes served hash to {actual}; nothing was written")]
    Corrupt {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The digest asked for.
        digest: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// A manifest the registry served is not an image manifest weld reads.
    #[error("registry {registry}, repository {repository}: manifest {reference}: {reason}")]
    Manifest {
        /// The registry host.
        registry: String,
        /// The repository.
        repository: String,
        /// The tag or digest.
        reference: String,
        /// Why.
        reason: String,
    },
    /// The reference does not parse.
    #[error("reference `{reference}`: {reason}")]
    Reference {
        /// The text given.
        reference: String,
        /// Why.
        reason: String,
    },
    /// The client could not start.
    #[error("registry client: {0}")]
    Client(String),
    /// A request failed every time it was tried: the last failure.
    #[error("{last} (gave up after {attempts} attempts)")]
    Retried {
        /// How often it was tried.
        attempts: u32,
        /// The last failure.
        last: Box<RegistryError>,
    },
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn message_part(m: &str) -> String {
    let m = m.trim();
    if m.is_empty() {
        String::new()
    } else {
        format!(" ({})", m.lines().next().unwrap_or(m))
    }
}

fn hint(status: u16, what: &str) -> &'static str {
    match status {
        401 | 403 => "; check the credentials (WELD_REGISTRY_USER and WELD_REGISTRY_PASSWORD, or `auths` in ~/.docker/config.json)",
        404 if what.starts_with("manifest") => "; no such tag or digest in this repository",
        404 => "; not in this repository",
        s if s >= 500 => "; the registry failed, try again",
        _ => "",
    }
}

/// Where in a registry an operation was: for error messages.
#[derive(Clone)]
pub(crate) struct At<'a> {
    pub(crate) reference: &'a Reference,
    pub(crate) what: String,
    pub(crate) insecure: bool,
}

impl At<'_> {
    /// A failure with `reason`, naming the registry, repository and item.
    pub(crate) fn failed(&self, reason: String) -> RegistryError {
        RegistryError::Failed {
            registry: self.reference.registry().to_string(),
            repository: self.reference.repository().to_string(),
            what: self.what.clone(),
            reason,
        }
    }

    /// `e` as a [`RegistryError`] naming the registry, repository and item.
    pub(crate) fn error(&self, e: OciDistributionError) -> RegistryError {
        let registry = self.reference.registry().to_string();
        let repository = self.reference.repository().to_string();
        let what = self.what.clone();
        let status = |status: u16, message: String| RegistryError::Status {
            registry: registry.clone(),
            repository: repository.clone(),
            what: what.clone(),
            status,
            message,
        };
        match e {
            OciDistributionError::ServerError { code, message, .. } => status(code, message),
            OciDistributionError::UnauthorizedError { .. } => status(401, String::new()),
            OciDistributionError::AuthenticationFailure(m) => status(401, m),
            OciDistributionError::ImageManifestNotFoundError(m) => status(404, m),
            OciDistributionError::RegistryError { envelope, .. } => {
                let first = envelope.errors.first();
                let code = match first.map(|e| &e.code) {
                    Some(OciErrorCode::Unauthorized) => 401,
                    Some(OciErrorCode::Denied) => 403,
                    Some(
                        OciErrorCode::BlobUnknown
                        | OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound,
                    ) => 404,
                    Some(OciErrorCode::Toomanyrequests) => 429,
                    _ => 400,
                };
                status(code, first.map(|e| e.message.clone()).unwrap_or_default())
            }
            OciDistributionError::RequestError(r) => match r.status() {
                Some(s) => status(s.as_u16(), String::new()),
                None => {
                    let mut reason = error_chain(&r);
                    if !self.insecure
                        && (reason.contains("tls")
                            || reason.contains("TLS")
                            || reason.contains("certificate")
                            || reason.contains("InvalidContentType"))
                    {
                        reason.push_str(&format!(
                            "; if {registry} speaks plain HTTP, name it with --insecure {registry}"
                        ));
                    }
                    RegistryError::Failed {
                        registry,
                        repository,
                        what,
                        reason,
                    }
                }
            },
            other => RegistryError::Failed {
                registry,
                repository,
                what,
                reason: error_chain(&other),
            },
        }
    }
}

/// An error with its causes, on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_like_the_distribution_grammar() {
        let r = parse_reference("127.0.0.1:5000/apps/js-component-bindgen:1.0.3").unwrap();
        assert_eq!(
            (r.registry(), r.repository(), r.tag(), r.digest()),
            ("127.0.0.1:5000", "apps/js-component-bindgen", Some("1.0.3"), None)
        );
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = parse_reference(&format!("ghcr.io/a/b@{d}")).unwrap();
        assert_eq!((r.tag(), r.digest()), (None, Some(d.as_str())));
        assert_eq!(parse_reference("localhost/x").unwrap().tag(), Some("latest"));
        for bad in [
            "app:1",
            "ghcr.io/Upper/x",
            "ghcr.io/a//b",
            "ghcr.io/a:b:c",
            "ghcr.io/a@sha256:12",
            "ghcr.io/a:é",
            "ghcr.io/a/",
        ] {
            assert!(parse_reference(bad).is_err(), "{bad}");
        }
    }
}
