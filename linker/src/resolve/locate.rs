//! Stage 1b, **locate**: capability-safe resolution of import names to files.
//!
//! With `--root DIR`, an import module name that is a relative path
//! (`./lib/x.wasm`, `lib/x`) names a file relative to the importing module's
//! own directory, and an import map (`weld.imports.toml`) in that directory
//! or one above it (up to the root) can map a name to a file. A module can
//! reach only what it was given:
//!
//! - host namespaces (`env`, `wasi_snapshot_preview1`, `wasi:*`, `--host`)
//!   are never looked up on disk or in maps, and input names win over both;
//! - refused, with an error naming the importer and the name: absolute
//!   paths, `..` segments, empty segments, backslashes, NUL, URL schemes
//!   (and drive letters), and any path whose canonical form (symlinks
//!   resolved) leaves the root;
//! - a map entry is a path relative to the map's own directory and can never
//!   reach outside it; the nearest map that has the name wins;
//! - a map entry that is a digest (`sha256:<hex>`) names a blob of the
//!   [`BlobStore`] the caller gives (any store: a directory, memory), whose
//!   bytes are verified against the digest;
//! - a name that is neither a path nor in a map stays an unresolved import.
//!
//! Files found are added to the inputs (named by their path under the root;
//! blobs by their digest) and searched in turn, so the closure is loaded.
//! Cost: one survey per file or blob found, one `canonicalize` per importer
//! and per distinct import name per directory.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use weld_format::names::{cmp_ignoring_build, is_host_namespace, match_key, ExternName, Track};
use weld_format::{InputId, InputSpec, Inputs, Survey};

use weld_format::Problem;

use crate::resolve::{FileLink, Rule};
use crate::store::{BlobStore, Digest, StoreError};

/// The name of weld's import map file.
pub const IMPORT_MAP: &str = "weld.imports.toml";
/// The name of the native-host proposal's import map file.
pub const WASI_IMPORT_MAP: &str = "wasi_import_map.json";

/// Options for [`locate`].
#[derive(Debug, Clone, Default)]
pub struct LocateOptions {
    /// The directory path imports may reach; `None` disables path and map
    /// resolution entirely.
    pub root: Option<PathBuf>,
    /// More host namespaces.
    pub hosts: Vec<String>,
    /// The host import map: with one, every `@name` import must have an
    /// entry (it is never looked up on disk either way).
    pub host_map: Option<crate::resolve::HostMap>,
}

/// Why a name may not be followed.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// `/x`.
    #[error("absolute paths are refused")]
    Absolute,
    /// `a/../b`.
    #[error("`..` segments are refused")]
    DotDot,
    /// `a/./b`: a `.` segment anywhere but a leading `./`.
    #[error("`.` segments are refused (only a leading `./` is kept)")]
    Dot,
    /// `a//b` or a trailing `/`.
    #[error("empty path segments are refused")]
    EmptySegment,
    /// `a\b`.
    #[error("backslashes are refused")]
    Backslash,
    /// A NUL byte.
    #[error("NUL bytes are refused")]
    Nul,
    /// `https://…`, `file:…`, `C:…`.
    #[error("URL schemes and drive letters are refused")]
    Scheme,
    /// The file, symlinks resolved, is outside the directory it may be in.
    #[error("resolves to {resolved}, outside {allowed}")]
    Escapes {
        /// Where it led.
        resolved: String,
        /// The directory it had to stay in.
        allowed: String,
    },
    /// Nothing there (the path is relative to the root; `.wasm` and `.wat`
    /// were tried too).
    #[error("cannot find file `{0}`")]
    NotFound(String),
    /// A `@name` import the host map has no entry for.
    #[error("cannot find host module `{module}` (no entry in {map})")]
    HostNotMapped {
        /// The import's host module (its first segment).
        module: String,
        /// The host map file.
        map: String,
    },
    /// A `$name` import no import map has a key for.
    #[error("key `{key}` not found in import maps: {}", if .maps.is_empty() { "(none found up to the root)".to_string() } else { .maps.join(", ") })]
    KeyNotFound {
        /// The key (`$name`).
        key: String,
        /// Every map consulted, nearest first, relative to the root.
        maps: Vec<String>,
    },
    /// The importing module itself is not under the root.
    #[error("the importing module is outside --root, so its path imports cannot be resolved")]
    ImporterOutsideRoot,
    /// A map entry names a digest, but no store was given.
    #[error("map entry `{0}` names a digest; resolving it needs a store (--store DIR)")]
    Digest(String),
    /// A map entry names a digest the store cannot give (missing or corrupt).
    #[error("map entry `{entry}`: {source}")]
    Store {
        /// The entry's target (`sha256:<hex>`).
        entry: String,
        /// What the store said.
        #[source]
        source: Box<StoreError>,
    },
    /// The import map does not parse.
    #[error("import map {map}: {reason}")]
    BadMap {
        /// The map file.
        map: String,
        /// What is wrong.
        reason: String,
    },
    /// The file or blob could not be read or is not WebAssembly.
    #[error(transparent)]
    Load(Box<weld_format::LoadError>),
    /// The input does not survey (it is malformed).
    #[error(transparent)]
    Survey(Box<Problem>),
}

/// One import that was refused.
#[derive(Debug, thiserror::Error)]
#[error("{importer}: import \"{name}\": {reason}")]
pub struct LocateError {
    /// The importing input.
    pub importer: String,
    /// The import module name.
    pub name: String,
    /// Why.
    pub reason: Refusal,
}

/// The inputs with every file they reach, and how imports reach them.
#[derive(Debug)]
pub struct Located {
    /// The inputs given, then the files found, in discovery order, each
    /// loaded once.
    pub inputs: Inputs,
    /// Imports resolved to those files.
    pub links: Vec<FileLink>,
}

/// `--root` resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum LocateFailure {
    /// The root itself, or a file found, cannot be loaded.
    #[error(transparent)]
    Load(#[from] weld_format::LoadError),
    /// Imports that were refused, every one of them.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Refused(Vec<LocateError>),
}

fn has_scheme(name: &str) -> bool {
    match name.split_once(':') {
        Some((scheme, _)) => {
            let mut c = scheme.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.all(|x| x.is_ascii_alphanumeric() || "+.-".contains(x))
        }
        None => false,
    }
}

/// Whether an import module name is meant as a path (and so is checked and
/// resolved under the root rather than left unresolved). Interface names
/// (`ns:pkg/iface`) are not paths.
pub fn is_path_like(name: &str) -> bool {
    let looks = name.contains('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.starts_with('.')
        || name.ends_with(".wasm")
        || name.ends_with(".wat");
    looks && !matches!(ExternName::parse(name), Ok(ExternName::Interface { .. }))
}

/// Checks the grammar of a relative path and returns its segments (`.`
/// segments dropped).
pub fn check_relative(name: &str) -> Result<Vec<&str>, Refusal> {
    if name.contains('\0') {
        return Err(Refusal::Nul);
    }
    if name.contains('\\') {
        return Err(Refusal::Backslash);
    }
    if name.starts_with('/') {
        return Err(Refusal::Absolute);
    }
    if has_scheme(name) {
        return Err(Refusal::Scheme);
    }
    let mut segments = Vec::new();
    let body = name.strip_prefix("./").unwrap_or(name);
    for seg in body.split('/') {
        match seg {
            "" => return Err(Refusal::EmptySegment),
            ".." => return Err(Refusal::DotDot),
            "." => return Err(Refusal::Dot),
            s => segments.push(s),
        }
    }
    if segments.is_empty() {
        return Err(Refusal::EmptySegment);
    }
    Ok(segments)
}

/// Resolves `name` relative to `dir`, which must be inside `allowed`
/// (both canonical). Tries the name as is, then with `.wasm` and `.wat`.
pub fn resolve_path(allowed: &Path, dir: &Path, name: &str) -> Result<PathBuf, Refusal> {
    let segments = check_relative(name)?;
    let mut base = dir.to_path_buf();
    base.extend(&segments);
    let mut candidates = vec![base.clone()];
    if base.extension().is_none() {
        candidates.push(base.with_extension("wasm"));
        candidates.push(base.with_extension("wat"));
    }
    for c in candidates {
        if std::fs::symlink_metadata(&c).is_err() {
            continue;
        }
        let canonical = std::fs::canonicalize(&c).map_err(|_| Refusal::Escapes {
            resolved: format!("{} (a dangling link)", c.display()),
            allowed: allowed.display().to_string(),
        })?;
        if !canonical.starts_with(allowed) {
            return Err(Refusal::Escapes {
                resolved: canonical.display().to_string(),
                allowed: allowed.display().to_string(),
            });
        }
        if !canonical.is_file() {
            return Err(Refusal::NotFound(base.display().to_string()));
        }
        return Ok(canonical);
    }
    Err(Refusal::NotFound(base.display().to_string()))
}

/// An import map: names to paths (relative to the map's directory).
#[derive(Debug, Clone, Default, serde::Deserialize)]
struct ImportMap {
    #[serde(default)]
    imports: BTreeMap<String, String>,
}

fn rel(root: &Path, p: &Path) -> String {
    let r = p.strip_prefix(root).unwrap_or(p);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Expands `inputs` with every file their imports reach under `opts.root`
/// (each loaded once), and lists those imports. Import-map entries naming a
/// digest resolve in `store`, verified. Without a root, returns the inputs
/// unchanged.
///
/// ```
/// use weld_format::Inputs;
/// use weld_linker::{locate, LocateOptions, MemoryStore};
///
/// let inputs = Inputs::from_memory([("app", b"(module)".to_vec())])?;
/// let store = MemoryStore::new();
/// // No root: nothing is looked up, in the store or on disk.
/// let located = locate(&LocateOptions::default(), inputs, Some(&store))?;
/// assert_eq!(located.inputs.len(), 1);
/// assert!(located.links.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn locate(
    opts: &LocateOptions,
    inputs: Inputs,
    store: Option<&dyn BlobStore>,
) -> Result<Located, LocateFailure> {
    let Some(root) = &opts.root else {
        // Without a root nothing is looked up on disk, but a host map still
        // has to name every `@` import.
        check_host_imports(opts, &inputs)?;
        return Ok(Located {
            inputs,
            links: Vec::new(),
        });
    };
    let root = std::fs::canonicalize(root).map_err(|source| weld_format::LoadError::Io {
        input: "--root".into(),
        path: root.clone(),
        source,
    })?;
    let mut walk = Walk::new(opts, store, root, inputs);
    // The inputs given are surveyed first, so their exports are all known
    // before any map is consulted for them; each file found is surveyed
    // when it is added, and searched in turn.
    let mut pending: VecDeque<(usize, Surveyed)> = VecDeque::new();
    for (i, input) in walk.inputs.iter().enumerate() {
        pending.push_back((i, names_of(input, &mut walk.exported)));
    }
    while let Some((i, surveyed)) = pending.pop_front() {
        match surveyed {
            Ok(imports) => {
                // The importer's own directory (canonical), once.
                let dir = (walk.inputs.get(InputId(i as u32)).path.as_ref())
                    .and_then(|p| std::fs::canonicalize(p).ok())
                    .and_then(|p| p.parent().map(Path::to_path_buf));
                for name in imports {
                    if let Some(added) = walk.follow(i, dir.as_deref(), &name)? {
                        let input = walk.inputs.get(InputId(added as u32));
                        pending.push_back((added, names_of(input, &mut walk.exported)));
                    }
                }
            }
            Err(e) => walk.errors.push(LocateError {
                importer: walk.inputs.get(InputId(i as u32)).display.clone(),
                name: String::new(),
                reason: Refusal::Survey(e),
            }),
        }
    }
    if !walk.errors.is_empty() {
        return Err(LocateFailure::Refused(walk.errors));
    }
    Ok(Located {
        inputs: walk.inputs,
        links: walk.links,
    })
}

/// Without a root: every `@` import must be in the host map, if there is one.
fn check_host_imports(opts: &LocateOptions, inputs: &Inputs) -> Result<(), LocateFailure> {
    let Some(h) = &opts.host_map else {
        return Ok(());
    };
    let mut errors = Vec::new();
    let mut exported = HashSet::new();
    for input in inputs.iter() {
        for name in names_of(input, &mut exported).unwrap_or_default() {
            if crate::resolve::host_map::is_host_import(&name) && h.rename(&name).is_none() {
                errors.push(LocateError {
                    importer: input.display.clone(),
                    reason: Refusal::HostNotMapped {
                        module: name.split('/').next().unwrap_or(&name).to_string(),
                        map: h.file.clone(),
                    },
                    name,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LocateFailure::Refused(errors))
    }
}

/// Where a name led: a file under the root, or a blob of the store.
enum Origin {
    /// A file (canonical).
    File(PathBuf),
    /// A blob, by digest.
    Blob(Digest),
}

/// One `--root` walk: the inputs so far, what each file or blob became,
/// and what was found and refused.
struct Walk<'o> {
    opts: &'o LocateOptions,
    store: Option<&'o dyn BlobStore>,
    root: PathBuf,
    inputs: Inputs,
    /// The names of the inputs given.
    names: HashSet<String>,
    /// Inputs by canonical file.
    by_file: HashMap<PathBuf, usize>,
    /// Inputs loaded from the store, by digest.
    by_digest: HashMap<Digest, usize>,
    /// The import maps of each directory read so far.
    maps: HashMap<PathBuf, DirMaps>,
    /// Component exports seen so far, by match key.
    exported: HashSet<(String, Option<Track>)>,
    links: Vec<FileLink>,
    errors: Vec<LocateError>,
}

impl<'o> Walk<'o> {
    fn new(opts: &'o LocateOptions, store: Option<&'o dyn BlobStore>, root: PathBuf, inputs: Inputs) -> Self {
        let names = inputs.iter().map(|s| s.name.clone()).collect();
        let mut by_file = HashMap::new();
        for (i, input) in inputs.iter().enumerate() {
            if let Some(c) = input.path.as_ref().and_then(|p| std::fs::canonicalize(p).ok()) {
                by_file.entry(c).or_insert(i);
            }
        }
        Walk {
            opts,
            store,
            root,
            inputs,
            names,
            by_file,
            by_digest: HashMap::new(),
            maps: HashMap::new(),
            exported: HashSet::new(),
            links: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Follows import `name` of input `i`, whose file is in `dir`: records
    /// the link, or the refusal. Returns the input added, when the name led
    /// to a new one.
    fn follow(&mut self, i: usize, dir: Option<&Path>, name: &str) -> Result<Option<usize>, LocateFailure> {
        let display = self.inputs.get(InputId(i as u32)).display.clone();
        let refuse = |reason| LocateError {
            importer: display.clone(),
            name: name.to_string(),
            reason,
        };
        // `@name`: the host's, never a file; with a host map it must be in it.
        if crate::resolve::host_map::is_host_import(name) {
            if let Some(h) = self.opts.host_map.as_ref().filter(|h| h.rename(name).is_none()) {
                let module = name.split('/').next().unwrap_or(name).to_string();
                self.errors.push(refuse(Refusal::HostNotMapped {
                    module,
                    map: h.file.clone(),
                }));
            }
            return Ok(None);
        }
        // Names an input provides (a core module's name, a component
        // export) are resolved among the inputs, before any map.
        if is_host_namespace(name, &self.opts.hosts)
            || self.names.contains(name)
            || self.exported.contains(&match_key(name))
        {
            return Ok(None);
        }
        let dir = match dir {
            Some(d) if d.starts_with(&self.root) => d,
            _ => {
                if is_path_like(name) || name.starts_with('$') {
                    self.errors.push(refuse(Refusal::ImporterOutsideRoot));
                }
                return Ok(None);
            }
        };
        let (origin, rule, input_name) = match self.find(dir, name) {
            Err(r) => {
                self.errors.push(refuse(r));
                return Ok(None);
            }
            Ok(None) => return Ok(None),
            Ok(Some(found)) => found,
        };
        let known = match &origin {
            Origin::File(file) => self.by_file.get(file),
            Origin::Blob(digest) => self.by_digest.get(digest),
        };
        let (provider, added) = match known {
            Some(&p) => (p, false),
            None => {
                // New: loaded once, surveyed once (by the caller), searched
                // in turn.
                let loaded = match self.load(&origin, input_name) {
                    Ok(l) => l,
                    Err(r) => {
                        self.errors.push(refuse(r));
                        return Ok(None);
                    }
                };
                let at = self.inputs.len();
                self.inputs.append(loaded)?;
                match origin {
                    Origin::File(file) => self.by_file.insert(file, at),
                    Origin::Blob(digest) => self.by_digest.insert(digest, at),
                };
                (at, true)
            }
        };
        self.links.push(FileLink {
            importer: InputId(i as u32),
            module: name.to_string(),
            provider: InputId(provider as u32),
            rule,
        });
        Ok(added.then_some(provider))
    }

    /// Where `name`, imported from a module in `dir`, leads: the nearest
    /// map entry (`$key[/rest]`: the rest of the path inside the entry's
    /// target), else, for a path, the file. `None`: it stays an import.
    fn find(&mut self, dir: &Path, name: &str) -> Result<Option<(Origin, Rule, String)>, Refusal> {
        let root = &self.root;
        let keyed = name.starts_with('$');
        let (key, rest) = match name.split_once('/') {
            Some((k, r)) if keyed => (k, Some(r)),
            _ => (name, None),
        };
        let found = match find_in_maps(root, dir, key, keyed, &mut self.maps) {
            Err(r) => Err(r),
            Ok(Found::Entry {
                map_dir,
                map_file,
                key: found_key,
                target,
            }) => {
                let semver = found_key != key;
                let map = rel(root, &map_file);
                match weld_format::names::parse_hash_name(&target) {
                    // A digest: the blob in the store (verified when loaded).
                    Some(digest) if rest.is_none() => {
                        let rule = Rule::Map {
                            map,
                            key: found_key,
                            file: format!("{target} (store)"),
                            semver,
                        };
                        Ok(Some((Origin::Blob(digest), rule, target)))
                    }
                    _ => {
                        let target = match rest {
                            Some(r) => format!("{}/{r}", target.trim_end_matches('/')),
                            None => target,
                        };
                        resolve_path(&map_dir, &map_dir, &target).map(|file| {
                            let rule = Rule::Map {
                                map,
                                key: found_key,
                                file: rel(root, &file),
                                semver,
                            };
                            let input_name = rel(root, &file);
                            Some((Origin::File(file), rule, input_name))
                        })
                    }
                }
            }
            Ok(Found::Nothing { consulted }) if keyed => Err(Refusal::KeyNotFound {
                key: key.to_string(),
                maps: consulted.iter().map(|m| rel(root, m)).collect(),
            }),
            Ok(Found::Nothing { .. }) if is_path_like(name) => resolve_path(root, dir, name).map(|file| {
                let rule = Rule::Path {
                    file: rel(root, &file),
                };
                let input_name = rel(root, &file);
                Some((Origin::File(file), rule, input_name))
            }),
            Ok(Found::Nothing { .. }) => Ok(None),
        };
        // A file not found is named relative to the root.
        found.map_err(|r| match r {
            Refusal::NotFound(p) => Refusal::NotFound(rel(root, Path::new(&p))),
            r => r,
        })
    }

    /// Loads what `origin` names, as the input `input_name`: a file, or a
    /// blob of the store (verified).
    fn load(&self, origin: &Origin, input_name: String) -> Result<Inputs, Refusal> {
        match origin {
            Origin::File(file) => Inputs::load(std::slice::from_ref(&InputSpec {
                name: input_name,
                path: file.clone(),
            })),
            Origin::Blob(digest) => {
                let Some(store) = self.store else {
                    return Err(Refusal::Digest(input_name));
                };
                let bytes = store.get(digest).map_err(|source| Refusal::Store {
                    entry: input_name.clone(),
                    source: Box::new(source),
                })?;
                Inputs::from_memory([(input_name, bytes)])
            }
        }
        .map_err(|e| Refusal::Load(Box::new(e)))
    }
}

/// What [`names_of`] found: an input's import names, or why it does not survey.
type Surveyed = Result<Vec<String>, Box<Problem>>;

/// The distinct import names of an input (core: module names; components:
/// import names, which only import maps can resolve, since a component
/// import name is never a path); its component export names go into
/// `exported`.
fn names_of(input: &weld_format::Input, exported: &mut HashSet<(String, Option<Track>)>) -> Surveyed {
    let survey = weld_format::survey(&input.display, input.bytes()).map_err(Box::new)?;
    let mut out: Vec<String> = match &survey {
        Survey::Module(m) => m.imports.iter().map(|i| i.module.to_string()).collect(),
        Survey::Component(c) => {
            exported.extend(c.exports.iter().map(|e| match_key(e.name.name)));
            c.imports.iter().map(|i| i.name.name.to_string()).collect()
        }
    };
    out.sort();
    out.dedup();
    Ok(out)
}

/// The import maps of one directory: weld's `weld.imports.toml` and the
/// proposal's `wasi_import_map.json`.
#[derive(Debug, Default)]
struct DirMaps {
    /// weld's map: names (any, `$`-keys too) to paths.
    toml: BTreeMap<String, String>,
    /// The proposal's map: keys without their `$` to paths.
    json: BTreeMap<String, String>,
    /// The map files there, as found (JSON first).
    files: Vec<PathBuf>,
    /// weld's map keys that are versioned interface names, by semver track
    /// (DESIGN §4): an import with no exact key takes the highest version on
    /// its track.
    by_track: HashMap<(String, Track), (semver::Version, String)>,
}

impl DirMaps {
    /// weld's map entry for `name`: its exact key, else the highest
    /// version on the same track. Returns the key and the target.
    fn toml_entry(&self, name: &str) -> Option<(String, &String)> {
        if let Some(t) = self.toml.get(name) {
            return Some((name.to_string(), t));
        }
        let Ok(parsed @ ExternName::Interface { .. }) = ExternName::parse(name) else {
            return None;
        };
        let (_, key) = self.by_track.get(&(parsed.base().to_string(), parsed.track()?))?;
        Some((key.clone(), self.toml.get(key)?))
    }
}

/// What [`find_in_maps`] found.
enum Found {
    /// The nearest entry: the map's directory and file, the key that
    /// matched (the name itself, or a key on its semver track), and the
    /// target.
    Entry {
        map_dir: PathBuf,
        map_file: PathBuf,
        key: String,
        target: String,
    },
    /// No map has the key; these were consulted, nearest first.
    Nothing { consulted: Vec<PathBuf> },
}

fn read_dir_maps(dir: &Path) -> Result<DirMaps, Refusal> {
    let mut maps = DirMaps::default();
    let json_file = dir.join(WASI_IMPORT_MAP);
    if let Ok(text) = std::fs::read_to_string(&json_file) {
        let entries: BTreeMap<String, String> = serde_json::from_str(&text).map_err(|e| Refusal::BadMap {
            map: json_file.display().to_string(),
            reason: format!("not a JSON object of strings: {e}"),
        })?;
        for (k, v) in entries {
            let key = k.strip_prefix('$').unwrap_or(&k).to_string();
            if maps.json.insert(key, v).is_some() {
                return Err(Refusal::BadMap {
                    map: json_file.display().to_string(),
                    reason: format!("key `{k}` is given twice (with and without `$`)"),
                });
            }
        }
        maps.files.push(json_file);
    }
    let toml_file = dir.join(IMPORT_MAP);
    if let Ok(text) = std::fs::read_to_string(&toml_file) {
        let map = toml::from_str::<ImportMap>(&text).map_err(|e| Refusal::BadMap {
            map: toml_file.display().to_string(),
            reason: e.to_string().replace('\n', " "),
        })?;
        // A `$` key may be written in both files of one folder only once.
        for k in map.imports.keys().filter_map(|k| k.strip_prefix('$')) {
            if maps.json.contains_key(k) {
                return Err(Refusal::BadMap {
                    map: toml_file.display().to_string(),
                    reason: format!("key `${k}` is also defined in {WASI_IMPORT_MAP} of the same folder"),
                });
            }
        }
        for k in map.imports.keys() {
            if let Ok(ExternName::Interface {
                base,
                version: Some(v),
            }) = ExternName::parse(k)
            {
                // The highest version on the track; ties keep the first key.
                let best = maps.by_track.entry((base.to_string(), Track::of(&v)));
                let best = best.or_insert_with(|| (v.clone(), k.clone()));
                if cmp_ignoring_build(&v, &best.0).is_gt() {
                    *best = (v, k.clone());
                }
            }
        }
        maps.toml = map.imports;
        maps.files.push(toml_file);
    }
    Ok(maps)
}

/// The nearest import map, from `dir` up to `root`, that has `key`. A
/// `$`-key (`keyed`) is looked up in both maps of each folder (with or
/// without its `$`); any other name only in `weld.imports.toml`.
fn find_in_maps(
    root: &Path,
    dir: &Path,
    key: &str,
    keyed: bool,
    cache: &mut HashMap<PathBuf, DirMaps>,
) -> Result<Found, Refusal> {
    let bare = key.strip_prefix('$').unwrap_or(key);
    let mut consulted = Vec::new();
    let mut d = Some(dir);
    while let Some(cur) = d {
        if !cur.starts_with(root) {
            break;
        }
        if !cache.contains_key(cur) {
            let maps = read_dir_maps(cur)?;
            cache.insert(cur.to_path_buf(), maps);
        }
        let maps = &cache[cur];
        let toml_hit = if keyed {
            (maps.toml.get(key).map(|t| (key.to_string(), t)))
                .or_else(|| maps.toml.get(bare).map(|t| (bare.to_string(), t)))
        } else {
            maps.toml_entry(key)
        };
        let json_hit = if keyed {
            maps.json.get(bare).map(|t| (key.to_string(), t))
        } else {
            None
        };
        let hit = match (json_hit, toml_hit) {
            (Some(t), _) => Some((cur.join(WASI_IMPORT_MAP), t)),
            (None, Some(t)) => Some((cur.join(IMPORT_MAP), t)),
            (None, None) => None,
        };
        if let Some((map_file, (key, target))) = hit {
            return Ok(Found::Entry {
                map_dir: cur.to_path_buf(),
                map_file,
                key,
                target: target.clone(),
            });
        }
        consulted.extend(maps.files.iter().cloned());
        d = cur.parent();
    }
    Ok(Found::Nothing { consulted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_refusals() {
        assert!(matches!(check_relative("/etc/x.wasm"), Err(Refusal::Absolute)));
        assert!(matches!(check_relative("lib/../x"), Err(Refusal::DotDot)));
        assert!(matches!(check_relative("lib//x"), Err(Refusal::EmptySegment)));
        assert!(matches!(check_relative("lib/"), Err(Refusal::EmptySegment)));
        assert!(matches!(check_relative("lib\\x"), Err(Refusal::Backslash)));
        assert!(matches!(check_relative("lib/x\0"), Err(Refusal::Nul)));
        assert!(matches!(
            check_relative("https://example.invalid/x.wasm"),
            Err(Refusal::Scheme)
        ));
        assert!(matches!(check_relative("file:x.wasm"), Err(Refusal::Scheme)));
        assert!(matches!(check_relative("C:/x.wasm"), Err(Refusal::Scheme)));
        assert_eq!(check_relative("./lib/x.wasm").ok(), Some(vec!["lib", "x.wasm"]));
    }

    #[test]
    fn path_like_names() {
        assert!(is_path_like("./x.wasm"));
        assert!(is_path_like("lib/x"));
        assert!(is_path_like("x.wasm"));
        assert!(!is_path_like("mylib"));
        assert!(!is_path_like("my:pkg/iface@1.0.0"));
    }
}
