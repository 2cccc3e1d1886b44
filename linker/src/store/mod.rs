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

pub(crate) mod app;
pub(crate) mod bundle;
pub(crate) mod manifest;
pub(crate) mod memory;
pub(crate) mod oci;
#[cfg(feature = "registry")]
pub(crate) mod registry;
pub(crate) mod split;

use weld_format::digest::sha256;
use weld_format::names::{hex, oci_digest};

pub use bundle::BundleError;
pub use manifest::{
    record_roots, rfc3339, AppManifest, Layer, ManifestError, WasmConfig, World, WASM_CONFIG_MEDIA_TYPE,
};
pub use memory::MemoryStore;
pub use oci::{BlobEntry, OciDir};
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

    /// Points each tag's name at its manifest (a blob already put),
    /// replacing any earlier tag of the same name.
    fn tag(&self, tags: &[Tag]) -> Result<(), StoreError>;

    /// Every tag, in the store's order.
    fn tags(&self) -> Result<Vec<Tag>, StoreError>;

    /// The manifest `name` points at, if any.
    fn tagged(&self, name: &str) -> Result<Option<Tag>, StoreError> {
        Ok(self.tags()?.into_iter().find(|t| t.name == name))
    }
}

/// The app `name` of `store`: its tag and parsed manifest.
pub fn open_app(store: &dyn BlobStore, name: &str) -> Result<(Tag, AppManifest), StoreError> {
    let tags = store.tags()?;
    let Some(tag) = tags.iter().find(|t| t.name == name).cloned() else {
        let known: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        return Err(StoreError::NoApp {
            store: store.location(),
            app: name.to_string(),
            known: if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            },
        });
    };
    let manifest = open_manifest(store, name, &tag.manifest)?;
    Ok((tag, manifest))
}

/// The app manifest `digest` of `store`, read by its digest: exactly that
/// manifest, whatever a tag points at now (another process may retag the
/// app's name meanwhile). `name` names the app in errors.
pub fn open_manifest(store: &dyn BlobStore, name: &str, digest: &Digest) -> Result<AppManifest, StoreError> {
    let bytes = store.get(digest)?;
    AppManifest::parse(&bytes, "manifest").map_err(|source| StoreError::BadManifest {
        store: store.location(),
        app: name.to_string(),
        source,
    })
}

/// A name pointing at a manifest in a store (an OCI index entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The app's name (`org.opencontainers.image.ref.name`).
    pub name: String,
    /// The manifest's SHA-256.
    pub manifest: Digest,
    /// The manifest's size.
    pub size: u64,
}

/// One app root, as its artifact records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootRecord {
    /// The app's name.
    pub name: String,
    /// The root (stored, `layers[0]`): digest and size.
    pub root: (Digest, u64),
    /// The root's world; `None` for a core module (`os` `wasip1`).
    pub world: Option<World>,
    /// The children it imports: digest and size, sorted, each once.
    pub layers: Vec<(Digest, u64)>,
    /// When it was made (RFC 3339, in UTC to the second).
    pub created: String,
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
    /// An app's manifest is not one weld can read.
    #[error("store {store}: app `{app}`: {source}")]
    BadManifest {
        /// The store.
        store: String,
        /// The app.
        app: String,
        /// Why.
        #[source]
        source: ManifestError,
    },
    /// No app of that name is in the store.
    #[error("store {store}: no app `{app}` (apps: {known})")]
    NoApp {
        /// The store.
        store: String,
        /// The app asked for.
        app: String,
        /// The apps there are, comma-separated.
        known: String,
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
