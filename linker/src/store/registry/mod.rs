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

use std::str::FromStr;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::Reference;

use super::StoreError;

pub use auth::{credentials_for, Credentials};
pub use locations::BlobLocations;
pub use pull::{pull, PullOptions, PullReport};
pub use push::{push, BlobPush, ProgressFn, PushOptions, PushReport, Transfer};

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
            ..ClientConfig::default()
        };
        Ok(Registry {
            client: oci_client::Client::new(config),
            runtime,
            opts,
        })
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

/// A parsed `host[:port]/repo[:tag|@digest]`.
pub fn parse_reference(s: &str) -> Result<Reference, RegistryError> {
    let r = Reference::from_str(s).map_err(|e| RegistryError::Reference {
        reference: s.to_string(),
        reason: e.to_string(),
    })?;
    // A bare `repo:tag` would silently mean Docker Hub; ask for the host.
    let first = s.split('/').next().unwrap_or("");
    if !s.contains('/') || !(first.contains('.') || first.contains(':') || first == "localhost") {
        return Err(RegistryError::Reference {
            reference: s.to_string(),
            reason: "name the registry host: host[:port]/repository[:tag|@digest]".to_string(),
        });
    }
    Ok(r)
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
                Some(s) => status(s.as_u16(), r.to_string()),
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
