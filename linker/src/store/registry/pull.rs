//! `weld pull`: one app's artifact from a registry into a [`BlobStore`].
//!
//! The manifest first (checked against the digest when the reference names
//! one), then every blob it names that the store lacks, in parallel. Each
//! blob is received into memory and hashed as it streams; only bytes that
//! hash to their digest (and have the size the manifest says) are put in
//! the store, so nothing unverified is ever visible there. The manifest is
//! put last and tagged, after every blob it names is in.

use futures_util::{stream, StreamExt, TryStreamExt};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::{Reference, RegistryOperation};
use weld_format::digest::sha256;
use weld_format::names::{hex, oci_digest};

use super::retry::retry;
use super::{Registry, RegistryError};
use crate::store::{AppManifest, BlobStore, Digest, Tag};

/// Options for [`pull`].
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The name the app gets in the store (its tag).
    pub name: String,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct PullReport {
    /// The manifest's tag in the store.
    pub tag: Tag,
    /// The parsed manifest.
    pub app: AppManifest,
    /// Blobs fetched: digest and size.
    pub fetched: Vec<(Digest, u64)>,
    /// Blobs the store already had.
    pub cached: Vec<(Digest, u64)>,
}

/// Pulls the app `source` (`host/repo:tag` or `host/repo@digest`) into
/// `sink`, tagged `opts.name`.
pub fn pull(
    opts: &PullOptions,
    registry: &Registry,
    source: &Reference,
    sink: &dyn BlobStore,
) -> Result<PullReport, RegistryError> {
    let at = |what: String| registry.at(source, what);
    let which = source
        .digest()
        .map(str::to_string)
        .unwrap_or_else(|| source.tag().unwrap_or("latest").to_string());
    let bad_manifest = |reason: String| RegistryError::Manifest {
        registry: source.registry().to_string(),
        repository: source.repository().to_string(),
        reference: which.clone(),
        reason,
    };
    registry.runtime.block_on(async {
        let client = registry.session(source, RegistryOperation::Pull).await?;
        let bytes = retry(&registry.opts.retry, || async {
            let (bytes, _) = registry
                .client
                .pull_manifest_raw(
                    source,
                    &registry.auth(source),
                    &[
                        OCI_IMAGE_MEDIA_TYPE,
                        IMAGE_MANIFEST_MEDIA_TYPE,
                        OCI_IMAGE_INDEX_MEDIA_TYPE,
                        IMAGE_MANIFEST_LIST_MEDIA_TYPE,
                    ],
                )
                .await
                .map_err(|e| at(format!("manifest {which}")).error(e))?;
            if let Some(want) = source.digest() {
                let digest = sha256(&bytes);
                if want != oci_digest(&digest) {
                    return Err(RegistryError::Corrupt {
                        registry: source.registry().to_string(),
                        repository: source.repository().to_string(),
                        digest: want.to_string(),
                        actual: oci_digest(&digest),
                    });
                }
            }
            Ok(bytes)
        })
        .await?;
        let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("mediaType").and_then(|m| m.as_str()).map(str::to_string));
        if matches!(
            media_type.as_deref(),
            Some(OCI_IMAGE_INDEX_MEDIA_TYPE | IMAGE_MANIFEST_LIST_MEDIA_TYPE)
        ) {
            return Err(bad_manifest(
                "is an image index (one manifest per platform); pull one of its manifests by digest"
                    .to_string(),
            ));
        }
        let app = AppManifest::parse(&bytes, "manifest").map_err(|e| bad_manifest(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        let blobs: Vec<(Digest, u64)> = app
            .blobs()
            .filter(|l| seen.insert(l.digest))
            .map(|l| (l.digest, l.size))
            .collect();
        let fetched: Vec<Option<(Digest, u64)>> = stream::iter(blobs.iter())
            .map(|&(d, size)| {
                let at = &at;
                async move {
                    if sink.has(&d)? {
                        return Ok(None);
                    }
                    let digest = oci_digest(&d);
                    // What earlier attempts received stays: a retry asks for
                    // the rest (`Range`), or starts over when the registry
                    // sends the whole blob. Only bytes that hash to the
                    // digest reach the store.
                    let received = std::sync::Mutex::new(Vec::with_capacity(size.min(8 << 20) as usize));
                    let buf = retry(&registry.opts.retry, || async {
                        let have = {
                            let mut buf = received.lock().expect("not poisoned");
                            // All of it came, yet the attempt failed: again whole.
                            if buf.len() as u64 >= size {
                                buf.clear();
                            }
                            buf.len() as u64
                        };
                        let blob = at(format!("blob {digest}"));
                        let mut stream = if have == 0 {
                            client
                                .pull_blob_stream(source, digest.as_str())
                                .await
                                .map_err(|e| blob.error(e))?
                        } else {
                            match client
                                .pull_blob_stream_partial(source, digest.as_str(), have, None)
                                .await
                                .map_err(|e| blob.error(e))?
                            {
                                oci_client::client::BlobResponse::Full(s) => {
                                    received.lock().expect("not poisoned").clear();
                                    s
                                }
                                oci_client::client::BlobResponse::Partial(s) => s,
                            }
                        };
                        while let Some(chunk) = stream.next().await {
                            let chunk = match chunk {
                                Ok(c) => c,
                                // The client's own digest check, at the end:
                                // weld's follows.
                                Err(_) if received.lock().expect("not poisoned").len() as u64 == size => {
                                    break
                                }
                                Err(e) => return Err(blob.failed(super::error_chain(&e))),
                            };
                            let mut buf = received.lock().expect("not poisoned");
                            // Never more than the manifest's size is taken in.
                            if buf.len() as u64 + chunk.len() as u64 > size {
                                buf.clear();
                                return Err(blob.failed(format!(
                                    "the registry served more than the {size} bytes the manifest says"
                                )));
                            }
                            buf.extend_from_slice(&chunk);
                        }
                        let mut buf = received.lock().expect("not poisoned");
                        if (buf.len() as u64) < size {
                            return Err(blob.failed(format!(
                                "the manifest says {size} bytes, the registry served {}",
                                buf.len()
                            )));
                        }
                        let actual = sha256(&buf);
                        if actual != d {
                            // Started over at the next attempt.
                            buf.clear();
                            return Err(RegistryError::Corrupt {
                                registry: source.registry().to_string(),
                                repository: source.repository().to_string(),
                                digest: digest.clone(),
                                actual: format!("sha256:{}", hex(&actual)),
                            });
                        }
                        Ok(std::mem::take(&mut *buf))
                    })
                    .await?;
                    sink.put(&buf)?;
                    Ok::<_, RegistryError>(Some((d, size)))
                }
            })
            .buffered(registry.opts.jobs())
            .try_collect()
            .await?;
        let (manifest, _) = sink.put(&bytes)?;
        let tag = Tag {
            name: opts.name.clone(),
            manifest,
            size: bytes.len() as u64,
        };
        sink.tag(std::slice::from_ref(&tag))?;
        let cached = blobs
            .iter()
            .zip(&fetched)
            .filter(|(_, f)| f.is_none())
            .map(|(b, _)| *b)
            .collect();
        Ok(PullReport {
            tag,
            app,
            fetched: fetched.into_iter().flatten().collect(),
            cached,
        })
    })
}

/// The tags of `repository`'s repository, as the registry lists them
/// (one page of up to 1000). A repository the registry does not know has
/// none.
pub fn tags(registry: &Registry, repository: &Reference) -> Result<Vec<String>, RegistryError> {
    registry.runtime.block_on(async {
        let client = registry.session(repository, RegistryOperation::Pull).await?;
        retry(&registry.opts.retry, || async {
            match client
                .list_tags(repository, &registry.auth(repository), Some(1000), None)
                .await
            {
                Ok(r) => Ok(r.tags),
                Err(oci_client::errors::OciDistributionError::RegistryError { envelope, .. })
                    if envelope.errors.iter().any(|e| {
                        matches!(
                            e.code,
                            oci_client::errors::OciErrorCode::NameUnknown
                                | oci_client::errors::OciErrorCode::NotFound
                        )
                    }) =>
                {
                    Ok(Vec::new())
                }
                Err(
                    oci_client::errors::OciDistributionError::ImageManifestNotFoundError(_)
                    | oci_client::errors::OciDistributionError::ServerError { code: 404, .. },
                ) => Ok(Vec::new()),
                Err(e) => Err(registry.at(repository, "tag list".to_string()).error(e)),
            }
        })
        .await
    })
}
