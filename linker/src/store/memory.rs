//! A [`BlobStore`] in memory, for library users and tests: blobs in a hash
//! map behind a lock, manifests recorded as blobs like [`super::OciDir`]
//! records them, and the index as an ordered list. Every read verifies the
//! digest, so a blob put in unchecked ([`MemoryStore::insert_unverified`])
//! is caught when read.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use weld_format::digest::sha256;
use weld_format::names::oci_digest;

use super::{verified, BlobStore, Digest, StoreError, Tag};

/// A store in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    blobs: RwLock<HashMap<Digest, Vec<u8>>>,
    /// (app, manifest digest), in the order recorded.
    index: Mutex<Vec<Tag>>,
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
        self.index
            .lock()
            .expect("the store lock is not poisoned")
            .iter()
            .map(|t| (t.name.clone(), t.manifest))
            .collect()
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

    fn tag(&self, tags: &[Tag]) -> Result<(), StoreError> {
        let mut index = self.index.lock().expect("the store lock is not poisoned");
        for t in tags {
            index.retain(|old| old.name != t.name);
            index.push(t.clone());
        }
        Ok(())
    }

    fn tags(&self) -> Result<Vec<Tag>, StoreError> {
        Ok(self.index.lock().expect("the store lock is not poisoned").clone())
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
    fn tagging_an_app_again_replaces_its_manifest() {
        let store = MemoryStore::new();
        let tag = |name: &str, m: u8| Tag {
            name: name.to_string(),
            manifest: [m; 32],
            size: 1,
        };
        store.tag(&[tag("a", 1), tag("b", 2)]).unwrap();
        store.tag(&[tag("a", 3)]).unwrap();
        let apps: Vec<(String, Digest)> = store.manifests();
        assert_eq!(apps, [("b".to_string(), [2; 32]), ("a".to_string(), [3; 32])]);
    }
}
