//! Where the packages of a WAC document come from, in this order: `--dep`
//! (a versioned key first, then the bare name), the deps directory (wac's
//! layout: `DIR/ns/pkg.wasm`, or `DIR/ns/pkg/VERSION.wasm` for a versioned
//! reference; `.wat` too), the local store (an app tagged `ns:pkg@VERSION`),
//! and an OCI registry (`HOST[/NS]`: `ns:pkg@ver` is `HOST/NS/ns/pkg:ver`,
//! as wkg maps it), pulled into the store with every digest verified, so a
//! second run fetches nothing.

use std::path::{Path, PathBuf};

use semver::Version;

use super::refs::PackageRef;
use crate::store::OciDir;

/// Where [`compose_document`](super::compose_document) looks for packages.
#[derive(Debug, Default)]
pub struct PackageSources {
    /// `--dep KEY=PATH`: `ns:pkg` (any version) or `ns:pkg@VERSION`.
    pub deps: Vec<(String, PathBuf)>,
    /// The deps directory (`None`: none).
    pub deps_dir: Option<PathBuf>,
    /// The local store: looked in before the registry, and where what the
    /// registry serves is kept.
    pub store: Option<PathBuf>,
    /// An OCI registry and the namespace prefix its packages are under.
    #[cfg(feature = "registry")]
    pub registry: Option<RegistrySource>,
}

/// An OCI registry to take packages from.
#[cfg(feature = "registry")]
#[derive(Debug)]
pub struct RegistrySource {
    /// The client.
    pub registry: crate::Registry,
    /// `HOST[/NAMESPACE]`: `ns:pkg@ver` is `{base}/ns/pkg:ver`.
    pub base: String,
}

/// A package's bytes and where they came from.
#[derive(Debug)]
pub struct FoundPackage {
    /// The component (binary).
    pub bytes: Vec<u8>,
    /// Where: a path, `store DIR: TAG`, or `REGISTRY/REPO:TAG`.
    pub from: String,
    /// Blobs the registry sent for it (0: none, or not from a registry).
    pub fetched: usize,
}

impl PackageSources {
    /// Finds `r`, or says where it looked.
    pub fn find(&self, r: &PackageRef<'_>) -> Result<FoundPackage, String> {
        let mut looked = Vec::new();
        // --dep: the versioned key, then the bare name.
        let versioned = r.version.map(|v| format!("{}@{v}", r.name));
        let dep = self
            .deps
            .iter()
            .find(|(k, _)| Some(k) == versioned.as_ref())
            .or_else(|| self.deps.iter().find(|(k, _)| k == r.name));
        if let Some((_, path)) = dep {
            return read(path).map(|bytes| FoundPackage {
                bytes,
                from: path.display().to_string(),
                fetched: 0,
            });
        }
        if !self.deps.is_empty() {
            looked.push("no --dep".to_string());
        }
        if let Some(dir) = &self.deps_dir {
            let mut base = dir.clone();
            base.extend(r.name.split(':'));
            let stem = match r.version {
                Some(v) => base.join(v.to_string()).into_os_string(),
                None => base.into_os_string(),
            };
            for ext in ["wasm", "wat"] {
                let mut p = stem.clone();
                p.push(".");
                p.push(ext);
                let p = PathBuf::from(p);
                if p.is_file() {
                    return read(&p).map(|bytes| FoundPackage {
                        bytes,
                        from: p.display().to_string(),
                        fetched: 0,
                    });
                }
            }
            looked.push(format!("not {}.wasm", Path::new(&stem).display()));
        }
        if let Some(dir) = &self.store {
            if dir.join("oci-layout").is_file() {
                let store = OciDir::open(dir).map_err(|e| e.to_string())?;
                if let Some(found) = from_store(&store, r)? {
                    return Ok(found);
                }
            }
            looked.push(format!("not in the store {}", dir.display()));
        }
        #[cfg(feature = "registry")]
        if let Some(source) = &self.registry {
            return self.pull(source, r, &looked);
        }
        if looked.is_empty() {
            looked.push("no package source given (--dep, --deps-dir, --store, --registry)".to_string());
        }
        Err(format!(
            "package `{}` not found: {}",
            display(r),
            looked.join("; ")
        ))
    }

    /// Pulls `r` from the registry into the store, then bundles it.
    #[cfg(feature = "registry")]
    fn pull(
        &self,
        source: &RegistrySource,
        r: &PackageRef<'_>,
        looked: &[String],
    ) -> Result<FoundPackage, String> {
        let (ns, pkg) = r.name.split_once(':').unwrap_or(("", r.name));
        let repo = format!("{}/{ns}/{pkg}", source.base.trim_end_matches('/'));
        let listing =
            crate::store::registry::parse_reference(&format!("{repo}:latest")).map_err(|e| e.to_string())?;
        let tags = crate::store::registry::tags(&source.registry, &listing).map_err(|e| e.to_string())?;
        let tag = choose_tag(&tags, r.version).map_err(|why| {
            let mut looked = looked.to_vec();
            looked.push(format!("{repo}: {why}"));
            format!("package `{}` not found: {}", display(r), looked.join("; "))
        })?;
        let reference =
            crate::store::registry::parse_reference(&format!("{repo}:{tag}")).map_err(|e| e.to_string())?;
        let name = format!("{}@{tag}", r.name);
        let store: Box<dyn crate::store::BlobStore> = match &self.store {
            Some(dir) => Box::new(OciDir::open_or_create(dir).map_err(|e| e.to_string())?),
            None => Box::new(crate::store::MemoryStore::new()),
        };
        let report = crate::store::registry::pull(
            &crate::PullOptions { name: name.clone() },
            &source.registry,
            &reference,
            store.as_ref(),
        )
        .map_err(|e| e.to_string())?;
        let bundled =
            crate::bundle_manifest(&Default::default(), store.as_ref(), &name, &report.tag.manifest)
                .map_err(|e| e.to_string())?;
        Ok(FoundPackage {
            bytes: bundled.bytes,
            from: reference.whole(),
            fetched: report.fetched.len(),
        })
    }
}

/// `ns:pkg` or `ns:pkg@version`.
pub fn display(r: &PackageRef<'_>) -> String {
    match r.version {
        Some(v) => format!("{}@{v}", r.name),
        None => r.name.to_string(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|b| b.into_owned())
        .map_err(|e| format!("{}: {}", path.display(), weld_format::one_line(&e.to_string())))
}

/// The app tagged `ns:pkg@VERSION` in the store, the version chosen among
/// those tagged as a registry's would be ([`choose_tag`]); else a tag
/// `ns:pkg` for an unversioned reference. Bundled.
fn from_store(store: &OciDir, r: &PackageRef<'_>) -> Result<Option<FoundPackage>, String> {
    let tags = store.tags().map_err(|e| e.to_string())?;
    let prefix = format!("{}@", r.name);
    let versions: Vec<String> = tags
        .iter()
        .filter_map(|t| t.name.strip_prefix(&prefix).map(str::to_string))
        .collect();
    let tag = match choose_tag(&versions, r.version) {
        Ok(v) => tags.iter().find(|t| t.name == format!("{prefix}{v}")),
        Err(_) if r.version.is_none() => tags.iter().find(|t| t.name == r.name),
        Err(_) => None,
    };
    let Some(tag) = tag else { return Ok(None) };
    let bundled = crate::bundle_manifest(&Default::default(), store, &tag.name, &tag.manifest)
        .map_err(|e| e.to_string())?;
    Ok(Some(FoundPackage {
        bytes: bundled.bytes,
        from: format!("store {}: {}", store.dir().display(), tag.name),
        fetched: 0,
    }))
}

/// The registry tag for a reference: the version itself; else the highest
/// tag on the same semver track at or above it (weld's semver rule); for an
/// unversioned reference the highest release, else `latest`.
pub fn choose_tag(tags: &[String], want: Option<&Version>) -> Result<String, String> {
    let versions = || tags.iter().filter_map(|t| Some((Version::parse(t).ok()?, t)));
    let listed = || {
        if tags.is_empty() {
            "the repository has no tags".to_string()
        } else {
            let mut shown: Vec<&str> = tags.iter().take(12).map(String::as_str).collect();
            if tags.len() > 12 {
                shown.push("...");
            }
            format!("tags: {}", shown.join(", "))
        }
    };
    match want {
        Some(v) => {
            if tags.iter().any(|t| *t == v.to_string()) {
                return Ok(v.to_string());
            }
            versions()
                .filter(|(t, _)| t >= v && same_track(t, v))
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, t)| t.clone())
                .ok_or_else(|| format!("no tag satisfies {v} ({})", listed()))
        }
        None => versions()
            .filter(|(t, _)| t.pre.is_empty())
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, t)| t.clone())
            .or_else(|| tags.iter().find(|t| *t == "latest").cloned())
            .ok_or_else(|| format!("no version tag and no `latest` ({})", listed())),
    }
}

/// Same semver track: same major, or for 0.x the same minor, or for 0.0.x
/// the same patch.
fn same_track(a: &Version, b: &Version) -> bool {
    match (b.major, b.minor) {
        (0, 0) => a.major == 0 && a.minor == 0 && a.patch == b.patch,
        (0, m) => a.major == 0 && a.minor == m,
        (major, _) => a.major == major,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tags_chosen_by_the_semver_rule() {
        let v = |s| Version::parse(s).unwrap();
        let t = tags(&["0.9.0", "1.0.0", "1.2.0", "2.0.0", "latest"]);
        assert_eq!(choose_tag(&t, Some(&v("1.0.0"))).unwrap(), "1.0.0");
        assert_eq!(choose_tag(&t, Some(&v("1.1.0"))).unwrap(), "1.2.0");
        assert_eq!(choose_tag(&t, None).unwrap(), "2.0.0");
        let e = choose_tag(&t, Some(&v("3.0.0"))).unwrap_err();
        assert!(e.starts_with("no tag satisfies 3.0.0 (tags: 0.9.0, 1.0.0"), "{e}");
        assert_eq!(
            choose_tag(&tags(&["0.2.1", "0.3.0"]), Some(&v("0.2.0"))).unwrap(),
            "0.2.1"
        );
        assert!(choose_tag(&tags(&["0.3.0"]), Some(&v("0.2.0"))).is_err());
        assert_eq!(choose_tag(&tags(&["latest"]), None).unwrap(), "latest");
        assert!(choose_tag(&[], None).unwrap_err().contains("has no tags"));
    }
}
