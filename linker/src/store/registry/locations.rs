//! Which repositories of a registry are known to hold a blob: what push
//! and pull saw. [`push`](super::push) asks it where a missing blob could
//! be mounted from (a cross-repository mount moves no bytes), as Docker's
//! and containers/image's blob-info caches do. It is a hint only: a stale
//! entry costs one refused mount, then the blob is uploaded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use weld_format::names::oci_digest;

use crate::store::Digest;

/// Known blob locations, by registry host then digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlobLocations {
    registries: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl BlobLocations {
    /// Reads the cache at `path`; a missing or unreadable file is an empty
    /// cache (it is only a hint).
    pub fn load(path: &Path) -> BlobLocations {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the cache to `path` atomically, merged with what is there:
    /// under an advisory lock (`PATH.lock`), the file is read again and
    /// this cache's entries added, so processes saving at once lose none of
    /// each other's entries.
    pub fn save(&self, path: &Path) -> Result<(), crate::WriteError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut lock_name = path.as_os_str().to_owned();
        lock_name.push(".lock");
        // Without a lock (a file system that has none), the merge still
        // narrows the window.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_name)
            .ok()
            .filter(|f| f.lock().is_ok());
        let mut merged = BlobLocations::load(path);
        for (registry, digests) in &self.registries {
            let known = merged.registries.entry(registry.clone()).or_default();
            for (digest, repos) in digests {
                known
                    .entry(digest.clone())
                    .or_default()
                    .extend(repos.iter().cloned());
            }
        }
        let text = serde_json::to_vec_pretty(&merged).expect("a map of strings serializes");
        let written = weld_format::write::write_atomic(path, &text);
        drop(lock);
        written
    }

    /// Records that `repository` of `registry` holds `digest`.
    pub fn record(&mut self, registry: &str, repository: &str, digest: &Digest) {
        self.registries
            .entry(registry.to_string())
            .or_default()
            .entry(oci_digest(digest))
            .or_default()
            .insert(repository.to_string());
    }

    /// The repositories of `registry` other than `except` known to hold
    /// `digest`.
    pub fn repositories(&self, registry: &str, digest: &Digest, except: &str) -> Vec<String> {
        self.registries
            .get(registry)
            .and_then(|r| r.get(&oci_digest(digest)))
            .map(|s| s.iter().filter(|r| *r != except).cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_merge_with_what_another_process_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob-locations.json");
        let (a, b) = ([1u8; 32], [2u8; 32]);
        // Two runs loaded the empty cache, each learned one location.
        let mut first = BlobLocations::load(&path);
        let mut second = BlobLocations::load(&path);
        first.record("r.example", "one", &a);
        second.record("r.example", "two", &b);
        first.save(&path).unwrap();
        second.save(&path).unwrap();
        let both = BlobLocations::load(&path);
        assert_eq!(both.repositories("r.example", &a, ""), ["one"]);
        assert_eq!(both.repositories("r.example", &b, ""), ["two"]);
    }
}
