//! A [`BlobStore`] in an OCI image layout directory.
//!
//! ```text
//! DIR/oci-layout                 {"imageLayoutVersion": "1.0.0"}
//! DIR/index.json                 one manifest per split root (ref name = the app)
//! DIR/blobs/sha256/<hex>         every blob: children, manifests, the empty config
//! ```
//!
//! A blob is named by the SHA-256 of its bytes. A blob is written to a temp
//! file in the blob directory and moved into place only if no file has that
//! name (`persist_noclobber`), so an existing blob is never replaced, even
//! by a concurrent writer; one whose bytes do not match its name is an
//! error. Every read verifies the digest. `oci-layout` and `index.json` are
//! written with [`crate::write_atomic`].

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::image::{ImageIndex, ImageIndexBuilder, MediaType};
use weld_format::names::{hex, oci_digest};

use super::manifest::{canonical_json, index_entry, ref_name, updated_index, AppManifest, ManifestError};
use super::{verified, BlobStore, Digest, StoreError, Tag};

/// An OCI image layout directory used as a store. Its [`BlobStore`]
/// methods are inherent too, so callers need not import the trait.
#[derive(Debug, Clone)]
pub struct OciDir {
    dir: PathBuf,
}

impl OciDir {
    /// Opens the store at `dir`, creating an empty layout if the directory
    /// does not exist or is empty.
    ///
    /// Several processes may create one store at once: a directory holding
    /// only what creating a store writes (`blobs/`, `index.json`, hidden
    /// temporary files) is one being created, and is completed; an
    /// existing `index.json` is never replaced by an empty one.
    pub fn open_or_create(dir: &Path) -> Result<OciDir, StoreError> {
        let store = OciDir {
            dir: dir.to_path_buf(),
        };
        if dir.join("oci-layout").is_file() {
            return OciDir::open(dir);
        }
        let being_created = !dir.exists()
            || std::fs::read_dir(dir)
                .map_err(store.io("the directory"))?
                .filter_map(Result::ok)
                .all(|e| {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    name == "blobs"
                        || name == "index.json"
                        || name == "index.json.lock"
                        || name == "oci-layout"
                        || name.starts_with('.')
                });
        if !being_created {
            return OciDir::open(dir);
        }
        std::fs::create_dir_all(dir.join("blobs/sha256")).map_err(store.io("blobs/sha256"))?;
        let empty = ImageIndexBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageIndex)
            .manifests(Vec::new())
            .build()
            .expect("a valid index");
        store.create_file("index.json", canonical_json(&empty).as_bytes())?;
        // Last: a store is whole once its `oci-layout` is there.
        store.write_file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        Ok(store)
    }

    /// Writes file `name` whole unless it exists (a uniquely named
    /// temporary file linked into place: another writer's file, of this
    /// process or another, is never replaced, and two threads never share
    /// a temporary file).
    fn create_file(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // A layout file gets a file's usual mode (0666 less the umask), as
        // blobs do, not a temporary file's private one.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut tmp = builder.tempfile_in(&self.dir).map_err(self.io(name))?;
        tmp.write_all(bytes).map_err(self.io(name))?;
        match tmp.persist_noclobber(self.dir.join(name)) {
            Err(e) if e.error.kind() != std::io::ErrorKind::AlreadyExists => Err(self.io(name)(e.error)),
            _ => Ok(()),
        }
    }

    /// Opens an existing store.
    pub fn open(dir: &Path) -> Result<OciDir, StoreError> {
        let store = OciDir {
            dir: dir.to_path_buf(),
        };
        let text = std::fs::read_to_string(dir.join("oci-layout"))
            .map_err(|_| store.not_a_store("no oci-layout file (not an OCI image layout)"))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| store.not_a_store(format!("oci-layout: {e}")))?;
        if v.get("imageLayoutVersion").and_then(|x| x.as_str()) != Some("1.0.0") {
            return Err(store.not_a_store("oci-layout: imageLayoutVersion is not 1.0.0"));
        }
        std::fs::create_dir_all(dir.join("blobs/sha256")).map_err(store.io("blobs/sha256"))?;
        Ok(store)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a blob (which may not exist).
    pub fn blob_file(&self, digest: &Digest) -> PathBuf {
        self.dir.join("blobs/sha256").join(hex(digest))
    }

    fn io(&self, item: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        let item = item.into();
        move |source| StoreError::Io {
            store: self.location(),
            item,
            source,
        }
    }

    fn not_a_store(&self, reason: impl Into<String>) -> StoreError {
        StoreError::NotAStore {
            store: self.location(),
            reason: reason.into(),
        }
    }

    /// Writes a file of the layout (not a blob) atomically.
    fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        weld_format::write::write_atomic(&self.dir.join(name), bytes).map_err(|e| StoreError::Io {
            store: self.location(),
            item: name.to_string(),
            source: e.source,
        })
    }

    /// The image index.
    pub fn index(&self) -> Result<ImageIndex, StoreError> {
        let text = std::fs::read(self.dir.join("index.json")).map_err(self.io("index.json"))?;
        ImageIndex::from_reader(&text[..]).map_err(|e| self.not_a_store(format!("index.json: {e}")))
    }

    fn write_index(&self, index: &ImageIndex) -> Result<(), StoreError> {
        self.write_file("index.json", canonical_json(index).as_bytes())
    }

    /// Every blob with its size and the apps whose manifests use it.
    pub fn list(&self) -> Result<Vec<BlobEntry>, StoreError> {
        let mut users: HashMap<Digest, Vec<String>> = HashMap::new();
        for t in self.tags()? {
            users
                .entry(t.manifest)
                .or_default()
                .push(format!("{} (manifest)", t.name));
            if let Ok(m) = self.app_manifest(&t) {
                users
                    .entry(m.config.digest)
                    .or_default()
                    .push(format!("{} (config)", t.name));
                let root = m.root().map(|r| r.digest);
                for l in &m.layers {
                    let user = if Some(l.digest) == root {
                        format!("{} (root)", t.name)
                    } else {
                        t.name.clone()
                    };
                    users.entry(l.digest).or_default().push(user);
                }
            }
        }
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(self.dir.join("blobs/sha256")).map_err(self.io("blobs/sha256"))? {
            let entry = entry.map_err(self.io("blobs/sha256"))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let size = entry
                .metadata()
                .map_err(self.io(format!("blobs/sha256/{name}")))?
                .len();
            let used_by = weld_format::names::parse_hash_name_hex(&name)
                .and_then(|d| users.remove(&d))
                .unwrap_or_default();
            let key = format!("sha256:{name}");
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

    /// The parsed manifest a tag points at.
    pub fn app_manifest(&self, tag: &Tag) -> Result<AppManifest, StoreError> {
        let bytes = self.get(&tag.manifest)?;
        AppManifest::parse(&bytes, "manifest").map_err(|source| StoreError::BadManifest {
            store: self.location(),
            app: tag.name.clone(),
            source,
        })
    }

    /// Re-hashes every blob and checks every app's manifest against the
    /// Wasm OCI artifact layout; returns every problem found (empty: all
    /// good).
    pub fn verify(&self) -> Result<Vec<StoreError>, StoreError> {
        let mut problems = Vec::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.join("blobs/sha256"))
            .map_err(self.io("blobs/sha256"))?
            .map(|e| e.map(|e| e.path()).map_err(self.io("blobs/sha256")))
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
                None => problems.push(self.not_a_store(format!(
                    "blobs/sha256/{name}: a file in blobs/sha256 that is not named by a digest"
                ))),
            }
        }
        // Every app: its manifest conformant, and every blob it names there.
        for t in self.tags()? {
            let m = match self.app_manifest(&t) {
                Ok(m) => m,
                Err(StoreError::Corrupt { .. }) => continue, // reported above
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            for l in m.blobs() {
                if !self.blob_file(&l.digest).exists() {
                    problems.push(StoreError::Missing {
                        store: self.location(),
                        digest: oci_digest(&l.digest),
                    });
                }
            }
            let config = std::fs::read(self.blob_file(&m.config.digest)).ok();
            for reason in m.nonconformities(config.as_deref()) {
                problems.push(StoreError::BadManifest {
                    store: self.location(),
                    app: t.name.clone(),
                    source: ManifestError::NotWasmArtifact(reason),
                });
            }
        }
        Ok(problems)
    }
}

impl OciDir {
    /// Where the store is: its directory, for messages.
    pub fn location(&self) -> String {
        self.dir.display().to_string()
    }

    /// The blob named `digest`, verified.
    pub fn get(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        let bytes = std::fs::read(self.blob_file(digest)).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::Missing {
                store: self.location(),
                digest: oci_digest(digest),
            },
            _ => self.io(format!("blob {}", oci_digest(digest)))(e),
        })?;
        verified(&self.location(), digest, bytes)
    }

    /// Adds a blob; returns its digest and whether it was new. An existing
    /// blob is checked, never overwritten.
    pub fn put(&self, bytes: &[u8]) -> Result<(Digest, bool), StoreError> {
        let digest = weld_format::digest::sha256(bytes);
        let path = self.blob_file(&digest);
        let item = || format!("blob {}", oci_digest(&digest));
        if path.exists() {
            self.get(&digest)?;
            return Ok((digest, false));
        }
        // Never replace a blob, even one another writer just added.
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut builder = tempfile::Builder::new();
        // A blob gets a file's usual mode (0666 less the umask), not a
        // temporary file's private one: stores are shared and served.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut tmp = builder.tempfile_in(dir).map_err(self.io(item()))?;
        tmp.write_all(bytes).map_err(self.io(item()))?;
        tmp.as_file().sync_all().map_err(self.io(item()))?;
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok((digest, true)),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                self.get(&digest)?;
                Ok((digest, false))
            }
            Err(e) => Err(self.io(item())(e.error)),
        }
    }

    /// Whether the store has a blob named `digest` (not verified).
    pub fn has(&self, digest: &Digest) -> Result<bool, StoreError> {
        self.blob_file(digest)
            .try_exists()
            .map_err(self.io(format!("blob {}", oci_digest(digest))))
    }

    /// Points each tag's name at its manifest, replacing earlier entries
    /// of the same names (new names go at the end, in order).
    pub fn tag(&self, tags: &[Tag]) -> Result<(), StoreError> {
        // Read, change and write the index under an advisory lock, so two
        // runs tagging into one store do not lose each other's tags.
        let lock_path = self.dir.join("index.json.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(self.io("index.json.lock"))?;
        lock.lock().map_err(self.io("index.json.lock"))?;
        let mut index = self.index()?;
        let entries = tags
            .iter()
            .map(|t| (t.name.clone(), index_entry(&t.name, &t.manifest, t.size)))
            .collect();
        updated_index(&mut index, entries);
        let written = self.write_index(&index);
        drop(lock);
        written
    }

    /// Every manifest of the index that has a ref name and a SHA-256 digest.
    pub fn tags(&self) -> Result<Vec<Tag>, StoreError> {
        Ok(self
            .index()?
            .manifests()
            .iter()
            .filter_map(|m| {
                Some(Tag {
                    // An entry without a ref name (`skopeo copy … oci:DIR`)
                    // is the app named "".
                    name: ref_name(m).unwrap_or("").to_string(),
                    manifest: m
                        .as_digest_sha256()
                        .and_then(weld_format::names::parse_hash_name_hex)?,
                    size: m.size(),
                })
            })
            .collect())
    }
}

impl BlobStore for OciDir {
    fn location(&self) -> String {
        OciDir::location(self)
    }
    fn get(&self, digest: &Digest) -> Result<Vec<u8>, StoreError> {
        OciDir::get(self, digest)
    }
    fn put(&self, bytes: &[u8]) -> Result<(Digest, bool), StoreError> {
        OciDir::put(self, bytes)
    }
    fn has(&self, digest: &Digest) -> Result<bool, StoreError> {
        OciDir::has(self, digest)
    }
    fn tag(&self, tags: &[Tag]) -> Result<(), StoreError> {
        OciDir::tag(self, tags)
    }
    fn tags(&self) -> Result<Vec<Tag>, StoreError> {
        OciDir::tags(self)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_tags_into_one_store_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = OciDir::open_or_create(&dir.path().join("s")).unwrap();
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let store = store.clone();
                s.spawn(move || {
                    for _ in 0..10 {
                        let (m, _) = store.put(&[t; 3]).unwrap();
                        store
                            .tag(&[Tag {
                                name: format!("app{t}"),
                                manifest: m,
                                size: 3,
                            }])
                            .unwrap();
                    }
                });
            }
        });
        let mut names: Vec<String> = store.tags().unwrap().into_iter().map(|t| t.name).collect();
        names.sort();
        assert_eq!(names, (0..8).map(|t| format!("app{t}")).collect::<Vec<_>>());
    }

    #[test]
    fn threads_creating_one_store_at_once_all_open_it() {
        // Found by CI: two threads of one `compose` pulling packages into a
        // new store shared one temporary `index.json` file, and the second
        // failed with "index.json: No such file or directory".
        for round in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s");
            std::thread::scope(|s| {
                for _ in 0..8 {
                    s.spawn(|| OciDir::open_or_create(&path).unwrap());
                }
            });
            let store = OciDir::open(&path).unwrap();
            assert!(store.tags().unwrap().is_empty(), "round {round}");
            let left: Vec<_> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tmp"))
                .collect();
            assert!(left.is_empty(), "round {round}: {left:?}");
            // `index.json` has the mode `oci-layout` has (the umask's), not
            // a temporary file's private 0600.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = |f: &str| std::fs::metadata(path.join(f)).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode("index.json"), mode("oci-layout"), "round {round}");
            }
        }
    }

    #[test]
    fn a_blob_is_stored_once_and_read_back_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = OciDir::open_or_create(&dir.path().join("s")).unwrap();
        let (first, new) = store.put(b"hello").unwrap();
        assert!(new);
        assert_eq!(store.put(b"hello").unwrap(), (first, false));
        assert!(store.has(&first).unwrap());
        assert_eq!(store.get(&first).unwrap(), b"hello");
        std::fs::write(store.blob_file(&first), b"hellO").unwrap();
        let e = store.get(&first).unwrap_err();
        assert!(matches!(&e, StoreError::Corrupt { digest, .. } if *digest == oci_digest(&first)));
        assert!(matches!(store.get(&[0; 32]), Err(StoreError::Missing { .. })));
    }
}
