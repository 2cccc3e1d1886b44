//! The content-addressed store: an OCI image layout directory.
//!
//! ```text
//! DIR/oci-layout                 {"imageLayoutVersion": "1.0.0"}
//! DIR/index.json                 one manifest per split root (ref name = the app)
//! DIR/blobs/sha256/<hex>         every blob: children, manifests, the empty config
//! ```
//!
//! A blob is named by the SHA-256 of its bytes. Writes go to a temp file in
//! the blob directory and are renamed into place; an existing blob is never
//! overwritten, and one whose bytes do not match its name is an error. Every
//! read verifies the digest.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::image::{
    Descriptor, Digest, ImageIndex, ImageIndexBuilder, ImageManifest, ImageManifestBuilder, MediaType,
};
use weld_format::digest::sha256;
use weld_format::names::{hex, oci_digest};

/// The media type of wasm blobs.
pub const WASM_MEDIA_TYPE: &str = "application/wasm";
/// Annotation: the app a manifest describes (OCI's ref name).
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation on a manifest: the digest of the split root.
const ROOT_ANNOTATION: &str = "dev.weld.root";

/// What can go wrong with a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("store {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The directory is not an OCI image layout weld can use.
    #[error("store {path}: {reason}")]
    NotAStore {
        /// The directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// A blob's bytes do not hash to its name.
    #[error("store {path}: blob {name} is corrupt: its bytes hash to sha256:{actual}")]
    Corrupt {
        /// The blob file.
        path: String,
        /// Its name (`sha256:<hex>`).
        name: String,
        /// What its bytes hash to.
        actual: String,
    },
    /// A blob is not in the store.
    #[error("store {path}: no blob {name}")]
    Missing {
        /// The store.
        path: String,
        /// The digest (`sha256:<hex>`).
        name: String,
    },
}

/// One split root, as recorded in `index.json`.
#[derive(Debug, Clone)]
pub struct RootRecord {
    /// The app's name.
    pub name: String,
    /// The SHA-256 of the split root.
    pub root: [u8; 32],
    /// The children it imports: digest and size.
    pub layers: Vec<([u8; 32], u64)>,
}

/// A store directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `bytes` to `path` through a temp file in the same directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(path))?;
    tmp.write_all(bytes).map_err(io(path))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    tmp.persist(path).map_err(|e| StoreError::Io {
        path: path.display().to_string(),
        source: e.error,
    })?;
    Ok(())
}

impl Store {
    /// Opens the store at `dir`, creating an empty layout if the directory
    /// does not exist or is empty.
    pub fn open_or_create(dir: &Path) -> Result<Store, StoreError> {
        let fresh = !dir.exists() || std::fs::read_dir(dir).map_err(io(dir))?.next().is_none();
        if fresh {
            std::fs::create_dir_all(dir.join("blobs/sha256")).map_err(io(dir))?;
            write_atomic(&dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
            let store = Store {
                dir: dir.to_path_buf(),
            };
            store.write_index(
                &ImageIndexBuilder::default()
                    .schema_version(2u32)
                    .media_type(MediaType::ImageIndex)
                    .manifests(Vec::new())
                    .build()
                    .expect("a valid index"),
            )?;
            return Ok(store);
        }
        Store::open(dir)
    }

    /// Opens an existing store.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let layout = dir.join("oci-layout");
        let text = std::fs::read_to_string(&layout).map_err(|_| StoreError::NotAStore {
            path: dir.display().to_string(),
            reason: "no oci-layout file (not an OCI image layout)".to_string(),
        })?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| StoreError::NotAStore {
            path: dir.display().to_string(),
            reason: format!("oci-layout: {e}"),
        })?;
        if v.get("imageLayoutVersion").and_then(|x| x.as_str()) != Some("1.0.0") {
            return Err(StoreError::NotAStore {
                path: dir.display().to_string(),
                reason: "oci-layout: imageLayoutVersion is not 1.0.0".to_string(),
            });
        }
        std::fs::create_dir_all(dir.join("blobs/sha256")).map_err(io(dir))?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a blob (which may not exist).
    pub fn blob_file(&self, digest: &[u8; 32]) -> PathBuf {
        self.blob_path(digest)
    }

    fn blob_path(&self, digest: &[u8; 32]) -> PathBuf {
        self.dir.join("blobs/sha256").join(hex(digest))
    }

    /// Adds a blob; returns its digest and whether it was new. An existing
    /// blob is checked, never overwritten.
    pub fn put(&self, bytes: &[u8]) -> Result<([u8; 32], bool), StoreError> {
        let digest = sha256(bytes);
        let path = self.blob_path(&digest);
        if path.exists() {
            self.get(&digest)?;
            return Ok((digest, false));
        }
        // Never replace a blob, even one another writer just added.
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(&path))?;
        tmp.write_all(bytes).map_err(io(&path))?;
        tmp.as_file().sync_all().map_err(io(&path))?;
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok((digest, true)),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                self.get(&digest)?;
                Ok((digest, false))
            }
            Err(e) => Err(io(&path)(e.error)),
        }
    }

    /// Reads a blob and checks that its bytes hash to its name.
    pub fn get(&self, digest: &[u8; 32]) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::Missing {
                path: self.dir.display().to_string(),
                name: oci_digest(digest),
            },
            _ => io(&path)(e),
        })?;
        let actual = sha256(&bytes);
        if &actual != digest {
            return Err(StoreError::Corrupt {
                path: path.display().to_string(),
                name: oci_digest(digest),
                actual: hex(&actual),
            });
        }
        Ok(bytes)
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    /// The image index.
    pub fn index(&self) -> Result<ImageIndex, StoreError> {
        let path = self.index_path();
        let text = std::fs::read(&path).map_err(io(&path))?;
        ImageIndex::from_reader(&text[..]).map_err(|e| StoreError::NotAStore {
            path: self.dir.display().to_string(),
            reason: format!("index.json: {e}"),
        })
    }

    fn write_index(&self, index: &ImageIndex) -> Result<(), StoreError> {
        let text = index.to_string_pretty().map_err(|e| StoreError::NotAStore {
            path: self.dir.display().to_string(),
            reason: format!("index.json: {e}"),
        })?;
        write_atomic(&self.index_path(), text.as_bytes())
    }

    /// Records split roots: one manifest each (children as layers), replacing
    /// any earlier manifest of the same app name.
    pub fn record_roots(&self, roots: &[RootRecord]) -> Result<(), StoreError> {
        let (config_digest, _) = self.put(b"{}")?;
        let mut index = self.index()?;
        let mut manifests: Vec<Descriptor> = index.manifests().clone();
        for r in roots {
            let layers = r
                .layers
                .iter()
                .map(|(d, size)| descriptor(MediaType::Other(WASM_MEDIA_TYPE.to_string()), *size, d))
                .collect::<Vec<_>>();
            let manifest = ImageManifestBuilder::default()
                .schema_version(2u32)
                .media_type(MediaType::ImageManifest)
                .artifact_type(MediaType::Other(WASM_MEDIA_TYPE.to_string()))
                .config(descriptor(MediaType::EmptyJSON, 2, &config_digest))
                .layers(layers)
                .annotations(HashMap::from([
                    (ROOT_ANNOTATION.to_string(), oci_digest(&r.root)),
                    (REF_NAME.to_string(), r.name.clone()),
                ]))
                .build()
                .expect("a valid manifest");
            let bytes = manifest.to_string_pretty().expect("a manifest serializes");
            let (digest, _) = self.put(bytes.as_bytes())?;
            let mut desc = descriptor(MediaType::ImageManifest, bytes.len() as u64, &digest);
            desc.set_annotations(Some(HashMap::from([(REF_NAME.to_string(), r.name.clone())])));
            manifests.retain(|m| ref_name(m) != Some(r.name.as_str()));
            manifests.push(desc);
        }
        index.set_manifests(manifests);
        self.write_index(&index)
    }

    /// Every blob with its size and the apps whose manifests use it.
    pub fn list(&self) -> Result<Vec<BlobEntry>, StoreError> {
        let mut users: HashMap<String, Vec<String>> = HashMap::new();
        for m in self.index()?.manifests() {
            let app = ref_name(m).unwrap_or("?").to_string();
            users
                .entry(m.digest().to_string())
                .or_default()
                .push(format!("{app} (manifest)"));
            if let Some(manifest) = self.manifest(m)? {
                users
                    .entry(manifest.config().digest().to_string())
                    .or_default()
                    .push(format!("{app} (config)"));
                for l in manifest.layers() {
                    users.entry(l.digest().to_string()).or_default().push(app.clone());
                }
            }
        }
        let dir = self.dir.join("blobs/sha256");
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let size = entry.metadata().map_err(io(&entry.path()))?.len();
            let key = format!("sha256:{name}");
            let used_by = users.remove(&key).unwrap_or_default();
            out.insert(
                key.clone(),
                BlobEntry {
                    digest: key,
                    size,
                    used_by,
                },
            );
        }
        Ok(out.into_values().collect())
    }

    fn manifest(&self, m: &Descriptor) -> Result<Option<ImageManifest>, StoreError> {
        let Some(d) = m
            .as_digest_sha256()
            .and_then(weld_format::names::parse_hash_name_hex)
        else {
            return Ok(None);
        };
        let bytes = self.get(&d)?;
        Ok(ImageManifest::from_reader(&bytes[..]).ok())
    }

    /// Re-hashes every blob; returns every problem found (empty: all good).
    pub fn verify(&self) -> Result<Vec<StoreError>, StoreError> {
        let dir = self.dir.join("blobs/sha256");
        let mut problems = Vec::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(io(&dir))?
            .map(|e| e.map(|e| e.path()).map_err(io(&dir)))
            .collect::<Result<_, _>>()?;
        names.sort();
        for path in names {
            let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
            match weld_format::names::parse_hash_name_hex(&name) {
                Some(d) => {
                    if let Err(e) = self.get(&d) {
                        problems.push(e);
                    }
                }
                None => problems.push(StoreError::NotAStore {
                    path: path.display().to_string(),
                    reason: "a file in blobs/sha256 that is not named by a digest".to_string(),
                }),
            }
        }
        // Every blob the index and manifests name must be there.
        for m in self.index()?.manifests() {
            match self.manifest(m) {
                Ok(Some(manifest)) => {
                    for l in manifest.layers().iter().chain([manifest.config()]) {
                        if let Some(d) = l
                            .as_digest_sha256()
                            .and_then(weld_format::names::parse_hash_name_hex)
                        {
                            if !self.blob_path(&d).exists() {
                                problems.push(StoreError::Missing {
                                    path: self.dir.display().to_string(),
                                    name: oci_digest(&d),
                                });
                            }
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => problems.push(e),
            }
        }
        Ok(problems)
    }
}

/// One blob of a store listing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlobEntry {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Bytes.
    pub size: u64,
    /// The apps using it (manifests and configs are marked).
    pub used_by: Vec<String>,
}

fn descriptor(media_type: MediaType, size: u64, digest: &[u8; 32]) -> Descriptor {
    let d = Digest::from_str(&oci_digest(digest)).expect("a sha256 digest is a valid OCI digest");
    Descriptor::new(media_type, size, d)
}

fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations().as_ref()?.get(REF_NAME).map(String::as_str)
}
