//! Magic names and the grammar of names weld reads and writes.
//!
//! - Host namespaces that are never looked up among the inputs.
//! - Component extern names: plain names and interface names
//!   (`ns:pkg/iface@1.2.3`), with the version split off.
//! - The semver compatibility rule (wasmtime's): a versioned name belongs to a
//!   *track*; two names on the same track are interchangeable, and the highest
//!   version on a track wins. See [`Track`] and [`ProviderIndex`].
//! - Canonical hash names: `sha256-<64 hex>` with the `external-id`
//!   attribute `sha256:<64 hex>`.
//!
//! Everything here is a pure function of its input: no allocation where a
//! borrowed slice will do, hash lookups only (no scans per import).

use std::collections::HashMap;

use semver::Version;

/// Import module names that belong to the host and are never resolved against
/// the inputs by default.
pub const DEFAULT_HOST_NAMESPACES: &[&str] = &["env", "wasi_snapshot_preview1", "wasi_unstable"];

/// Interface names in these namespaces belong to the host (`wasi:cli/run@0.2.0`).
pub const HOST_INTERFACE_PREFIXES: &[&str] = &["wasi:"];

/// The prefix of the plain part of a canonical hash name.
pub const HASH_NAME_PREFIX: &str = "sha256-";

/// The prefix of an OCI digest, as used in the `external-id` attribute.
pub const DIGEST_PREFIX: &str = "sha256:";

/// The name of the import attribute that carries a digest.
pub const EXTERNAL_ID: &str = "external-id";

/// The parts of a component extern name, borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternName<'a> {
    /// `ns:pkg/iface` with an optional `@version`.
    Interface {
        /// The name without its version, such as `wasi:http/types`.
        base: &'a str,
        /// The version after `@`, if any.
        version: Option<Version>,
    },
    /// Any other name (a plain label, `[method]r.f`, a hash name, ...).
    Plain(&'a str),
}

/// Why a name is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The text after `@` is not a semantic version.
    #[error("`{name}`: `{version}` is not a semantic version: {reason}")]
    BadVersion {
        /// The whole name.
        name: String,
        /// The text after `@`.
        version: String,
        /// What the semver parser said.
        reason: String,
    },
    /// An interface name lacks its namespace, package or interface part.
    #[error("`{name}`: an interface name is `namespace:package/interface[@version]`")]
    BadInterface {
        /// The whole name.
        name: String,
    },
}

impl<'a> ExternName<'a> {
    /// Parses a component extern name. Names containing `:` or `/` must be
    /// well-formed interface names; a version must be valid semver.
    pub fn parse(name: &'a str) -> Result<Self, NameError> {
        if !name.contains(':') && !name.contains('/') && !name.contains('@') {
            return Ok(ExternName::Plain(name));
        }
        // Plain names with brackets or `=` (legacy `integrity=...`) are not
        // interface names.
        if name.starts_with('[') || name.contains('=') {
            return Ok(ExternName::Plain(name));
        }
        let (base, version) = match name.split_once('@') {
            Some((base, v)) => {
                let version = Version::parse(v).map_err(|e| NameError::BadVersion {
                    name: name.to_string(),
                    version: v.to_string(),
                    reason: e.to_string(),
                })?;
                (base, Some(version))
            }
            None => (name, None),
        };
        let well_formed = match base.split_once('/') {
            Some((ns_pkg, iface)) => {
                let mut parts = ns_pkg.split(':');
                let all_words = |s: &str| {
                    !s.is_empty()
                        && s.split('-')
                            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric()))
                };
                ns_pkg.contains(':') && parts.all(all_words) && iface.split('/').all(all_words)
            }
            None => false,
        };
        if !well_formed {
            return Err(NameError::BadInterface {
                name: name.to_string(),
            });
        }
        Ok(ExternName::Interface { base, version })
    }

    /// The semver track of this name, if it has a version.
    pub fn track(&self) -> Option<Track> {
        match self {
            ExternName::Interface { version: Some(v), .. } => Some(Track::of(v)),
            _ => None,
        }
    }

    /// The name without its version.
    pub fn base(&self) -> &'a str {
        match self {
            ExternName::Interface { base, .. } => base,
            ExternName::Plain(name) => name,
        }
    }
}

/// A semver compatibility track (wasmtime's rule).
///
/// | version          | track            |
/// |------------------|------------------|
/// | `X.Y.Z`, X > 0   | `@X`             |
/// | `0.Y.Z`, Y > 0   | `@0.Y`           |
/// | `0.0.Z`          | exact only       |
/// | any pre-release  | exact only       |
///
/// Build metadata (`+...`) is ignored everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Track {
    /// `X.*.*` with X > 0.
    Major(u64),
    /// `0.Y.*` with Y > 0.
    Minor(u64),
    /// Only this exact version (build metadata stripped).
    Exact(Version),
}

impl Track {
    /// The track a version belongs to.
    pub fn of(v: &Version) -> Track {
        if !v.pre.is_empty() {
            let mut exact = v.clone();
            exact.build = semver::BuildMetadata::EMPTY;
            Track::Exact(exact)
        } else if v.major > 0 {
            Track::Major(v.major)
        } else if v.minor > 0 {
            Track::Minor(v.minor)
        } else {
            Track::Exact(Version::new(0, 0, v.patch))
        }
    }
}

impl std::fmt::Display for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Track::Major(x) => write!(f, "@{x}"),
            Track::Minor(y) => write!(f, "@0.{y}"),
            Track::Exact(v) => write!(f, "@{v} (exact)"),
        }
    }
}

/// How a name was matched to a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchRule {
    /// The strings are equal.
    Exact,
    /// Same base name, versions on the same semver track.
    Semver,
}

impl std::fmt::Display for MatchRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MatchRule::Exact => "exact",
            MatchRule::Semver => "semver",
        })
    }
}

/// Candidates on one track, highest version first.
type Candidates<T> = Vec<(Version, T)>;

/// Providers indexed once by exact name and by `(base, track)`, so matching a
/// name is two hash lookups.
///
/// Each key keeps its candidates in preference order (exact: insertion order;
/// track: highest version first, ties in insertion order), so a caller can
/// skip candidates it cannot use (such as the importer itself).
#[derive(Debug)]
pub struct ProviderIndex<'a, T> {
    exact: HashMap<&'a str, Vec<T>>,
    by_track: HashMap<&'a str, HashMap<Track, Candidates<T>>>,
}

impl<'a, T> Default for ProviderIndex<'a, T> {
    fn default() -> Self {
        ProviderIndex {
            exact: HashMap::new(),
            by_track: HashMap::new(),
        }
    }
}

impl<'a, T: Clone> ProviderIndex<'a, T> {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider of `name`. Names that do not parse are indexed by
    /// exact string only.
    pub fn insert(&mut self, name: &'a str, value: T) {
        self.exact.entry(name).or_default().push(value.clone());
        if let Ok(ExternName::Interface {
            base,
            version: Some(v),
        }) = ExternName::parse(name)
        {
            let list = self
                .by_track
                .entry(base)
                .or_default()
                .entry(Track::of(&v))
                .or_default();
            let at = list.partition_point(|(w, _)| cmp_ignoring_build(w, &v).is_ge());
            list.insert(at, (v, value));
        }
    }

    /// Finds the provider of `name`: the exact name first, otherwise the
    /// highest version on the same track.
    pub fn lookup(&self, name: &str) -> Option<(&T, MatchRule)> {
        self.lookup_where(name, |_| true)
    }

    /// Like [`lookup`](Self::lookup), skipping candidates `accept` refuses.
    pub fn lookup_where(&self, name: &str, accept: impl Fn(&T) -> bool) -> Option<(&T, MatchRule)> {
        if let Some(v) = self.exact.get(name).and_then(|l| l.iter().find(|v| accept(v))) {
            return Some((v, MatchRule::Exact));
        }
        let parsed = ExternName::parse(name).ok()?;
        let track = parsed.track()?;
        self.by_track
            .get(parsed.base())?
            .get(&track)?
            .iter()
            .find(|(_, v)| accept(v))
            .map(|(_, v)| (v, MatchRule::Semver))
    }

    /// The number of distinct exact names.
    pub fn len(&self) -> usize {
        self.exact.len()
    }

    /// Whether nothing was inserted.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }
}

/// The order of versions on a track: by precedence, build metadata ignored.
pub fn cmp_ignoring_build(a: &Version, b: &Version) -> std::cmp::Ordering {
    (a.major, a.minor, a.patch, &a.pre).cmp(&(b.major, b.minor, b.patch, &b.pre))
}

/// What a name can match under the semver rule: for a versioned interface
/// name its base and track, otherwise the name itself (exact matches only).
/// Two names with equal keys are interchangeable.
pub fn match_key(name: &str) -> (String, Option<Track>) {
    match ExternName::parse(name) {
        Ok(n) => match n.track() {
            Some(t) => (n.base().to_string(), Some(t)),
            None => (name.to_string(), None),
        },
        Err(_) => (name.to_string(), None),
    }
}

/// The version of a versioned interface name.
pub fn version_of(name: &str) -> Option<Version> {
    match ExternName::parse(name) {
        Ok(ExternName::Interface { version, .. }) => version,
        _ => None,
    }
}

/// Whether two versioned names are interchangeable under the semver rule.
/// Symmetric by construction.
pub fn semver_compatible(a: &str, b: &str) -> bool {
    match (ExternName::parse(a), ExternName::parse(b)) {
        (Ok(x), Ok(y)) => match (x.track(), y.track()) {
            (Some(tx), Some(ty)) => x.base() == y.base() && tx == ty,
            _ => false,
        },
        _ => false,
    }
}

/// Whether an import module name (core) or interface name (component)
/// belongs to the host and must never be resolved among the inputs or on disk.
pub fn is_host_namespace(name: &str, extra: &[String]) -> bool {
    // The native-host import proposal's syntax: `@name/...` is the host's.
    name.starts_with('@')
        || DEFAULT_HOST_NAMESPACES.contains(&name)
        || HOST_INTERFACE_PREFIXES.iter().any(|p| name.starts_with(p))
        || extra.iter().any(|e| e == name)
}

/// The canonical hash name for a SHA-256 digest: `sha256-<hex>`.
pub fn canonical_hash_name(sha256: &[u8; 32]) -> String {
    format!("{HASH_NAME_PREFIX}{}", hex(sha256))
}

/// The OCI digest string for a SHA-256 digest: `sha256:<hex>`.
pub fn oci_digest(sha256: &[u8; 32]) -> String {
    format!("{DIGEST_PREFIX}{}", hex(sha256))
}

/// Parses `sha256-<64 lowercase hex>` (plain name) or `sha256:<64 lowercase hex>`
/// (OCI digest) into the digest bytes.
pub fn parse_hash_name(name: &str) -> Option<[u8; 32]> {
    let hex_part = name
        .strip_prefix(HASH_NAME_PREFIX)
        .or_else(|| name.strip_prefix(DIGEST_PREFIX))?;
    parse_hex32(hex_part)
}

/// The SHA-256 digest a component import names, if it names one: the
/// canonical form (`sha256-<hex>` plain name, or an `external-id` of
/// `sha256:<hex>`, checked by the caller), or the legacy forms older
/// toolchains wrote: `integrity=sha256-<base64>` and
/// `locked-dep=<pkg@ver>,integrity=sha256-<base64>` (also `url=...,integrity=...`).
pub fn import_digest(name: &str, external_id: Option<&str>) -> Option<[u8; 32]> {
    if let Some(d) = external_id
        .and_then(|e| e.strip_prefix(DIGEST_PREFIX))
        .and_then(parse_hex32)
    {
        return Some(d);
    }
    if let Some(d) = name.strip_prefix(HASH_NAME_PREFIX).and_then(parse_hex32) {
        return Some(d);
    }
    // Legacy: comma-separated `key=value` parts, one of them `integrity=`.
    let integrity = name
        .split(',')
        .find_map(|part| part.trim().strip_prefix("integrity="))?;
    // An integrity value may list several hashes separated by spaces.
    integrity
        .split_whitespace()
        .find_map(|h| h.strip_prefix("sha256-").and_then(base64_32))
}

/// Decodes standard base64 (with or without padding) of exactly 32 bytes.
fn base64_32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim_end_matches('=');
    if s.len() != 43 {
        return None;
    }
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut out = [0u8; 32];
    let mut at = 0;
    for &c in s.as_bytes() {
        bits = (bits << 6) | val(c)? as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            if at == 32 {
                return None;
            }
            out[at] = (bits >> n) as u8;
            at += 1;
        }
    }
    (at == 32).then_some(out)
}

/// Parses 64 lowercase hex digits into a digest.
pub fn parse_hash_name_hex(s: &str) -> Option<[u8; 32]> {
    parse_hex32(s)
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks(2).enumerate() {
        let nib = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = (nib(pair[0])? << 4) | nib(pair[1])?;
    }
    Some(out)
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn import_digests_in_every_form() {
        let d = crate::digest::sha256(b"abc");
        let hexd = hex(&d);
        assert_eq!(import_digest(&format!("sha256-{hexd}"), None), Some(d));
        assert_eq!(
            import_digest("anything", Some(&format!("sha256:{hexd}"))),
            Some(d)
        );
        // base64 of sha256("abc"), as `integrity=` writes it.
        let b64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
        assert_eq!(import_digest(&format!("integrity=sha256-{b64}"), None), Some(d));
        assert_eq!(
            import_digest(&format!("locked-dep=<a:b@1.0.0>,integrity=sha256-{b64}"), None),
            Some(d)
        );
        assert_eq!(import_digest("integrity=sha384-xyz", None), None);
        assert_eq!(import_digest("wasi:cli/run@0.2.0", None), None);
        assert_eq!(import_digest(&format!("sha256-{}", &hexd[1..]), None), None);
    }

    #[test]
    fn track_major_above_zero_shares_major() {
        assert_eq!(Track::of(&v("1.2.3")), Track::of(&v("1.9.0")));
        assert_ne!(Track::of(&v("1.2.3")), Track::of(&v("2.0.0")));
    }

    #[test]
    fn track_zero_minor_shares_minor() {
        assert_eq!(Track::of(&v("0.2.0")), Track::of(&v("0.2.3")));
        assert_ne!(Track::of(&v("0.2.0")), Track::of(&v("0.3.0")));
    }

    #[test]
    fn track_zero_zero_is_exact_only() {
        assert_ne!(Track::of(&v("0.0.1")), Track::of(&v("0.0.2")));
        assert_eq!(Track::of(&v("0.0.1")), Track::of(&v("0.0.1")));
    }

    #[test]
    fn prerelease_is_exact_only() {
        assert_ne!(Track::of(&v("1.0.0-rc1")), Track::of(&v("1.0.0")));
        assert_ne!(Track::of(&v("1.0.0-rc1")), Track::of(&v("1.0.0-rc2")));
        assert_eq!(Track::of(&v("1.0.0-rc1")), Track::of(&v("1.0.0-rc1+b")));
    }

    #[test]
    fn build_metadata_is_ignored() {
        assert_eq!(Track::of(&v("1.2.3+abc")), Track::of(&v("1.0.0")));
        assert_eq!(Track::of(&v("0.0.3+abc")), Track::of(&v("0.0.3")));
        assert!(semver_compatible("a:b/c@0.0.3+x", "a:b/c@0.0.3"));
    }

    #[test]
    fn exact_match_wins_over_higher_version() {
        let mut idx = ProviderIndex::new();
        idx.insert("a:b/c@0.2.1", 1);
        idx.insert("a:b/c@0.2.5", 2);
        assert_eq!(idx.lookup("a:b/c@0.2.1"), Some((&1, MatchRule::Exact)));
    }

    #[test]
    fn highest_version_on_track_is_chosen() {
        let mut idx = ProviderIndex::new();
        idx.insert("a:b/c@0.2.3", 1);
        idx.insert("a:b/c@0.2.7", 2);
        idx.insert("a:b/c@0.3.9", 3);
        assert_eq!(idx.lookup("a:b/c@0.2.0"), Some((&2, MatchRule::Semver)));
        assert_eq!(idx.lookup("a:b/c@0.3.0"), Some((&3, MatchRule::Semver)));
        assert_eq!(idx.lookup("a:b/c@0.4.0"), None);
        assert_eq!(idx.lookup("a:b/d@0.2.0"), None);
    }

    #[test]
    fn major_track_lookup() {
        let mut idx = ProviderIndex::new();
        idx.insert("a:b/c@1.4.0", 1);
        assert_eq!(idx.lookup("a:b/c@1.0.0"), Some((&1, MatchRule::Semver)));
        assert_eq!(idx.lookup("a:b/c@2.0.0"), None);
    }

    #[test]
    fn zero_zero_and_prerelease_never_match_by_semver() {
        let mut idx = ProviderIndex::new();
        idx.insert("a:b/c@0.0.2", 1);
        idx.insert("a:b/c@1.0.0-rc2", 2);
        assert_eq!(idx.lookup("a:b/c@0.0.1"), None);
        assert_eq!(idx.lookup("a:b/c@1.0.0-rc1"), None);
        assert_eq!(idx.lookup("a:b/c@1.0.0"), None);
        assert_eq!(idx.lookup("a:b/c@0.0.2"), Some((&1, MatchRule::Exact)));
    }

    #[test]
    fn lookup_where_skips_refused_candidates() {
        let mut idx = ProviderIndex::new();
        idx.insert("a:b/c@0.2.9", 1);
        idx.insert("a:b/c@0.2.3", 2);
        assert_eq!(
            idx.lookup_where("a:b/c@0.2.0", |v| *v != 1),
            Some((&2, MatchRule::Semver))
        );
        assert_eq!(
            idx.lookup_where("a:b/c@0.2.9", |v| *v != 1),
            Some((&2, MatchRule::Semver))
        );
        assert_eq!(idx.lookup_where("a:b/c@0.2.9", |_| false), None);
    }

    #[test]
    fn unversioned_names_match_only_exactly() {
        let mut idx = ProviderIndex::new();
        idx.insert("a:b/c", 1);
        idx.insert("hello", 2);
        assert_eq!(idx.lookup("a:b/c@1.0.0"), None);
        assert_eq!(idx.lookup("hello"), Some((&2, MatchRule::Exact)));
    }

    #[test]
    fn equal_versions_keep_first_inserted() {
        let mut idx = ProviderIndex::new();
        idx.insert("a:b/c@1.2.0", 1);
        idx.insert("a:b/c@1.2.0+build", 2);
        assert_eq!(idx.lookup("a:b/c@1.0.0"), Some((&1, MatchRule::Semver)));
    }

    #[test]
    fn parses_interface_and_plain_names() {
        let n = ExternName::parse("wasi:http/types@0.2.0").unwrap();
        assert_eq!(n.base(), "wasi:http/types");
        assert_eq!(n.track(), Some(Track::Minor(2)));
        assert_eq!(ExternName::parse("run").unwrap(), ExternName::Plain("run"));
        assert!(matches!(
            ExternName::parse("a:b/c@nope"),
            Err(NameError::BadVersion { .. })
        ));
        assert!(matches!(
            ExternName::parse("a/c@1.0.0"),
            Err(NameError::BadInterface { .. })
        ));
        assert!(ExternName::parse("ns:a:pkg/x/y@1.0.0").is_ok());
    }

    #[test]
    fn canonical_hash_names_round_trip() {
        let d = [0xabu8; 32];
        let name = canonical_hash_name(&d);
        assert_eq!(name.len(), 7 + 64);
        assert_eq!(parse_hash_name(&name), Some(d));
        assert_eq!(parse_hash_name(&oci_digest(&d)), Some(d));
        assert_eq!(parse_hash_name("sha256-ABCD"), None);
        assert_eq!(parse_hash_name(&name.to_uppercase()), None);
    }

    #[test]
    fn host_namespaces() {
        assert!(is_host_namespace("env", &[]));
        assert!(is_host_namespace("wasi:cli/run@0.2.0", &[]));
        assert!(!is_host_namespace("mylib", &[]));
        assert!(is_host_namespace("mylib", &["mylib".to_string()]));
    }
}
