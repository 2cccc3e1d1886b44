//! A [`BlobStore`] in memory, for library users and tests: blobs in a hash
//! map behind a lock, manifests recorded as blobs like [`super::OciDir`]
//! records them, and the index as an ordered list. Every read verifies the
//! digest, so a blob put in unchecked ([`MemoryStore::insert_unverified`])
//! is caught when read.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use weld_format::digest::sha256;
use weld_format::names::oci_digest;

use super::manifest::{manifest_json, EMPTY_CONFIG};
use super::{verified, BlobStore, Digest, RootRecord, StoreError};

/// A store in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    blobs: RwLock<HashMap<Digest, Vec<u8>>>,
    /// (app, manifest digest), in the order recorded.
    index: Mutex<Vec<(String, Digest)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Adds bytes under a digest without checking that they hash to it (for
    /// blobs received from elsewhere; [`BlobStore::get`] verifies them).
    pub fn insert_unverified(&self, digest: Digest, bytes: Vec<u8>) {
        self.blobs
            .write()
            .expect("the store lock is not poisoned")
            .insert(digest, bytes);
    }

    /// The digests of every blob, sorted.
    pub fn digests(&self) -> Vec<Digest> {
        let mut out: Vec<Digest> = self
            .blobs
            .read()
            .expect("the store lock is not poisoned")
            .keys()
            .copied()
            .collect();
        out.sort();
        out
    }

    /// The recorded apps and their manifests' digests, in the order recorded.
    pub fn manifests(&self) -> Vec<(String, Digest)> {
        self.index.lock().expect("the store lock is not poisoned").clone()
    }
}

impl BlobStore for MemoryStore {
    fn location(&self) -> String {
        "(in memory)".to_string()
    }

    fn get(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let bytes = self
            .blobs
            .read()
            .expect("the store lock is not poisoned")
            .get(digest)
            .cloned()
            .ok_or_else(|| StoreError::Missing {
                store: self.location(),
                digest: oci_digest(digest),
            })?;
        verified(&self.location(), digest, bytes)
    }

    fn put(&self, bytes: &[u8]) -> Result<(Digest, bool), StoreError> {
        let digest = sha256(bytes);
        let mut blobs = self.blobs.write().expect("the store lock is not poisoned");
        if let Some(old) = blobs.get(&digest) {
            // Never replace a blob, but do not vouch for a corrupt one either.
            verified(&self.location(), &digest, old.clone())?;
            return Ok((digest, false));
        }
        blobs.insert(digest, bytes.to_vec());
        Ok((digest, true))
    }

    fn has(&self, digest: &Digest) -> Result<bool, StoreError> {
        Ok(self
            .blobs
            .read()
            .expect("the store lock is not poisoned")
            .contains_key(digest))
    }

    fn record_roots(&self, roots: &[RootRecord]) -> Result<(), StoreError> {
        let (config, _) = self.put(EMPTY_CONFIG)?;
        let mut recorded = Vec::with_capacity(roots.len());
        for r in roots {
            let (manifest, _) = self.put(manifest_json(r, &config).as_bytes())?;
            recorded.push((r.name.clone(), manifest));
        }
        let mut index = self.index.lock().expect("the store lock is not poisoned");
        for (app, manifest) in recorded {
            index.retain(|(a, _)| *a != app);
            index.push((app, manifest));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_blob_is_an_error_naming_its_digest() {
        let store = MemoryStore::new();
        let digest = sha256(b"right");
        store.insert_unverified(digest, b"wrong".to_vec());
        let e = store.get(&digest).unwrap_err();
        assert!(
            matches!(&e, StoreError::Corrupt { digest: d, .. } if *d == oci_digest(&digest)),
            "{e}"
        );
        assert!(e.to_string().contains(&oci_digest(&digest)), "{e}");
        // A put of the right bytes does not paper over it.
        assert!(matches!(store.put(b"right"), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn recording_an_app_again_replaces_its_manifest() {
        let store = MemoryStore::new();
        let record = |name: &str, root: u8| RootRecord {
            name: name.to_string(),
            root: [root; 32],
            layers: Vec::new(),
        };
        store.record_roots(&[record("a", 1), record("b", 2)]).unwrap();
        store.record_roots(&[record("a", 3)]).unwrap();
        let apps: Vec<String> = store.manifests().into_iter().map(|(a, _)| a).collect();
        assert_eq!(apps, ["b", "a"]);
    }
}
