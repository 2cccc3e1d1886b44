//! `weld push`: one app's artifact from a [`BlobStore`] to a registry.
//!
//! Every blob the manifest names (the config, then the layers) is asked for
//! first (HEAD); one the registry has is skipped. A missing one is mounted
//! from another repository of the same registry known to hold it (no bytes
//! move), else uploaded, streamed in one PUT. Blobs go in parallel; the
//! manifest goes last, byte for byte as the store holds it, so its digest
//! is the same everywhere. A push killed midway leaves only whole blobs in
//! the registry (a registry commits a blob once its digest checks), and the
//! next push skips them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::{stream, StreamExt, TryStreamExt};
use oci_client::{Reference, RegistryOperation};
use weld_format::names::oci_digest;

use super::retry::retry;
use super::{BlobLocations, Registry, RegistryError};
use crate::store::{AppManifest, BlobStore, Digest, StoreError};

/// The media type a manifest is pushed with.
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Bytes per piece of an upload stream (the granularity of progress).
const PIECE: usize = 256 * 1024;

/// Progress of the uploads of one push: bytes sent so far, of the total
/// that has to be sent.
pub type ProgressFn = dyn Fn(u64, u64) + Send + Sync;

/// Options for [`push`].
#[derive(Default, Clone)]
pub struct PushOptions {
    /// Where blobs are known to be (repositories of the same registry to
    /// mount from).
    pub locations: BlobLocations,
    /// Called as upload bytes go out.
    pub progress: Option<Arc<ProgressFn>>,
}

impl std::fmt::Debug for PushOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushOptions")
            .field("locations", &self.locations)
            .finish_non_exhaustive()
    }
}

/// How one blob got to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transfer {
    /// The repository had it.
    Present,
    /// Mounted from another repository of the registry.
    Mounted {
        /// The repository it came from.
        from: String,
    },
    /// Uploaded.
    Uploaded,
}

/// One blob of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobPush {
    /// Its digest.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// What happened.
    pub transfer: Transfer,
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct PushReport {
    /// The manifest's digest.
    pub manifest: Digest,
    /// The manifest's size (always uploaded).
    pub manifest_size: u64,
    /// Every blob of the artifact (config first, then layers), each once.
    pub blobs: Vec<BlobPush>,
}

impl PushReport {
    /// Count and bytes of the blobs that went the way `pick` says.
    pub fn total(&self, pick: impl Fn(&Transfer) -> bool) -> (usize, u64) {
        self.blobs
            .iter()
            .filter(|b| pick(&b.transfer))
            .fold((0, 0), |(n, s), b| (n + 1, s + b.size))
    }

    /// Bytes uploaded: blobs uploaded plus the manifest.
    pub fn uploaded_bytes(&self) -> u64 {
        self.total(|t| *t == Transfer::Uploaded).1 + self.manifest_size
    }
}

/// Pushes the app whose manifest is `manifest` in `source` to `target`
/// (`host/repo:tag` or `host/repo@digest`). The manifest and every blob it
/// names must be in `source`; each is verified as it is read.
pub fn push(
    opts: &PushOptions,
    registry: &Registry,
    target: &Reference,
    source: &dyn BlobStore,
    manifest: &Digest,
) -> Result<PushReport, RegistryError> {
    let manifest_bytes = source.get(manifest)?;
    let app = AppManifest::parse(&manifest_bytes, "manifest").map_err(|e| StoreError::BadManifest {
        store: source.location(),
        app: target.whole(),
        source: e,
    })?;
    if let Some(d) = target.digest() {
        if d != oci_digest(manifest) {
            return Err(RegistryError::Reference {
                reference: target.whole(),
                reason: format!(
                    "names digest {d}, but the manifest pushed is {}",
                    oci_digest(manifest)
                ),
            });
        }
    }
    // Each blob once, in manifest order.
    let mut seen = std::collections::HashSet::new();
    let blobs: Vec<(Digest, u64)> = app
        .blobs()
        .filter(|l| seen.insert(l.digest))
        .map(|l| (l.digest, l.size))
        .collect();
    let at = |what: String| registry.at(target, what);
    registry.runtime.block_on(async {
        let client = registry.session(target, RegistryOperation::Push).await?;
        // Which blobs are missing, asked all at once.
        let present: Vec<bool> = stream::iter(blobs.iter())
            .map(|(d, _)| async {
                let digest = oci_digest(d);
                retry(&registry.opts.retry, || async {
                    client
                        .blob_exists(target, &digest)
                        .await
                        .map_err(|e| at(format!("blob {digest}")).error(e))
                })
                .await
            })
            .buffered(registry.opts.jobs())
            .try_collect()
            .await?;
        let to_send: u64 = blobs
            .iter()
            .zip(&present)
            .filter(|(_, p)| !**p)
            .map(|((_, s), _)| *s)
            .sum();
        let sent = Arc::new(AtomicU64::new(0));
        let transfers: Vec<Transfer> = stream::iter(blobs.iter().zip(&present))
            .map(|((d, _), present)| {
                let sent = sent.clone();
                let at = &at;
                async move {
                    if *present {
                        return Ok(Transfer::Present);
                    }
                    let digest = oci_digest(d);
                    for from in opts
                        .locations
                        .repositories(target.registry(), d, target.repository())
                    {
                        let source_ref = Reference::with_tag(
                            target.registry().to_string(),
                            from.clone(),
                            "latest".to_string(),
                        );
                        // A refused mount (the registry opens an upload
                        // instead, or the blob has gone) falls through to
                        // the next place, then to an upload.
                        if client.mount_blob(target, &source_ref, &digest).await.is_ok()
                            && client.blob_exists(target, &digest).await.unwrap_or(false)
                        {
                            return Ok(Transfer::Mounted { from });
                        }
                    }
                    let bytes = bytes::Bytes::from(source.get(d)?);
                    let size = bytes.len() as u64;
                    // The whole blob again at each attempt (the registry
                    // keeps it only once it hashes to its digest); the
                    // progress counts what an attempt that failed had sent
                    // as not sent.
                    retry(&registry.opts.retry, || {
                        let progress = opts.progress.clone();
                        let total = sent.clone();
                        let this = Arc::new(AtomicU64::new(0));
                        let pieces: Vec<bytes::Bytes> = (0..bytes.len())
                            .step_by(PIECE)
                            .map(|at| bytes.slice(at..(at + PIECE).min(bytes.len())))
                            .collect();
                        let counted = this.clone();
                        let body = stream::iter(pieces).map(move |piece| {
                            counted.fetch_add(piece.len() as u64, Ordering::Relaxed);
                            let now =
                                total.fetch_add(piece.len() as u64, Ordering::Relaxed) + piece.len() as u64;
                            if let Some(p) = &progress {
                                p(now, to_send);
                            }
                            Ok::<_, oci_client::errors::OciDistributionError>(piece)
                        });
                        let (sent, digest) = (sent.clone(), &digest);
                        async move {
                            let r = client
                                .push_blob_stream(target, body, digest, Some(size))
                                .await
                                .map_err(|e| at(format!("upload of blob {digest}")).error(e));
                            if r.is_err() {
                                sent.fetch_sub(this.load(Ordering::Relaxed), Ordering::Relaxed);
                            }
                            r
                        }
                    })
                    .await?;
                    Ok::<_, RegistryError>(Transfer::Uploaded)
                }
            })
            .buffered(registry.opts.jobs())
            .try_collect()
            .await?;
        let what = match target.digest() {
            Some(d) => format!("manifest {d}"),
            None => format!("manifest {}", target.tag().unwrap_or("latest")),
        };
        // The manifest's own media type (a Docker schema-2 manifest pulled
        // from elsewhere keeps its type), else OCI's.
        let media_type = serde_json::from_slice::<serde_json::Value>(&manifest_bytes)
            .ok()
            .and_then(|v| v.get("mediaType").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| OCI_MANIFEST.to_string());
        retry(&registry.opts.retry, || async {
            client
                .push_manifest_raw(
                    target,
                    manifest_bytes.clone(),
                    media_type
                        .parse()
                        .unwrap_or_else(|_| OCI_MANIFEST.parse().expect("a valid header value")),
                )
                .await
                .map_err(|e| at(what.clone()).error(e))
        })
        .await?;
        Ok(PushReport {
            manifest: *manifest,
            manifest_size: manifest_bytes.len() as u64,
            blobs: blobs
                .iter()
                .zip(transfers)
                .map(|((digest, size), transfer)| BlobPush {
                    digest: *digest,
                    size: *size,
                    transfer,
                })
                .collect(),
        })
    })
}
