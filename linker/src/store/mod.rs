//! The content-addressed store and the two commands over it: [`split`]
//! (nested modules and components out to the store, replaced by imports in
//! canonical hash form) and [`bundle`] (the inverse, every blob verified).
//!
//! Both work over any [`BlobStore`]: blobs named by their SHA-256, verified
//! on every read, never overwritten, plus a record of which app roots use
//! which blobs (OCI manifests). Two implementations live here: [`OciDir`],
//! an OCI image layout directory, and [`MemoryStore`], for library users
//! and tests. A registry client is the third (DESIGN §3 push/pull): every
//! method takes `&self`, no method assumes a file path, and every error
//! names the digest it is about.
//!
//! [`split`]: crate::split
//! [`bundle`]: crate::bundle

pub(crate) mod bundle;
pub(crate) mod manifest;
pub(crate) mod memory;
pub(crate) mod oci;
pub(crate) mod split;

use weld_format::digest::sha256;
use weld_format::names::{hex, oci_digest};

pub use bundle::BundleError;
pub use memory::MemoryStore;
pub use oci::{BlobEntry, OciDir, Store};
pub use split::SplitError;

/// A SHA-256 digest: the name of a blob.
pub type Digest = [u8; 32];

/// A content-addressed blob store.
///
/// Implementations must be safe to share between threads (split runs apps
/// in parallel over one store) and must keep these promises:
/// - [`get`](BlobStore::get) returns only bytes that hash to the digest
///   asked for; anything else is [`StoreError::Corrupt`] (see [`verified`]).
/// - [`put`](BlobStore::put) never replaces a blob: a second put of the same
///   bytes reports `new: false`, and of concurrent puts exactly one is new.
pub trait BlobStore: Send + Sync {
    /// Where the store is, for messages: a directory, a registry, `memory`.
    fn location(&self) -> String;

    /// The blob named `digest`, verified.
    fn get(&self, digest: &Digest) -> Result<Vec<u8>, StoreError>;

    /// Adds `bytes`; returns its digest and whether this call added it
    /// (false: the store had it).
    fn put(&self, bytes: &[u8]) -> Result<(Digest, bool), StoreError>;

    /// Whether the store has a blob named `digest` (not verified).
    fn has(&self, digest: &Digest) -> Result<bool, StoreError>;

    /// Records split roots: one manifest each (its children as layers),
    /// replacing any earlier manifest of the same app name.
    fn record_roots(&self, roots: &[RootRecord]) -> Result<(), StoreError>;
}

/// One split root, as recorded in the store's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootRecord {
    /// The app's name.
    pub name: String,
    /// The SHA-256 of the split root.
    pub root: Digest,
    /// The children it imports: digest and size, sorted, each once.
    pub layers: Vec<(Digest, u64)>,
}

/// What can go wrong with a store. Each variant names the store (its
/// [`location`](BlobStore::location)) and, where there is one, the blob.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing part of the store failed.
    #[error("store {store}: {item}: {source}")]
    Io {
        /// The store.
        store: String,
        /// What was read or written (`blob sha256:<hex>`, `index.json`).
        item: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store is not one weld can use.
    #[error("store {store}: {reason}")]
    NotAStore {
        /// The store.
        store: String,
        /// Why.
        reason: String,
    },
    /// A blob's bytes do not hash to its name.
    #[error("blob {digest} is corrupt: in the store {store} its bytes hash to sha256:{actual}")]
    Corrupt {
        /// The store.
        store: String,
        /// The blob's name (`sha256:<hex>`).
        digest: String,
        /// What its bytes hash to (hex).
        actual: String,
    },
    /// A blob is not in the store.
    #[error("blob {digest} is not in the store {store}")]
    Missing {
        /// The store.
        store: String,
        /// The blob's name (`sha256:<hex>`).
        digest: String,
    },
}

/// `bytes` if they hash to `digest`, else [`StoreError::Corrupt`]: the check
/// every [`BlobStore::get`] makes.
pub fn verified(store: &str, digest: &Digest, bytes: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    let actual = sha256(&bytes);
    if &actual != digest {
        return Err(StoreError::Corrupt {
            store: store.to_string(),
            digest: oci_digest(digest),
            actual: hex(&actual),
        });
    }
    Ok(bytes)
}
