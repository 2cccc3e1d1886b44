//! The JSON a store records, following the CNCF TAG Runtime "Wasm OCI
//! Artifact layout" (DESIGN §3): per app one OCI image manifest whose
//! `layers[0]` is the root and whose config blob is
//! `application/vnd.wasm.config.v0+json`, and the image index naming them.
//!
//! [`artifact`]: a [`RootRecord`] → config and manifest bytes,
//! deterministic: every object's keys are written sorted (oci-spec keeps
//! annotations in a `HashMap`, whose order changes from run to run, and with
//! it the manifest's digest), so the same record always gives the same bytes.
//! [`AppManifest::parse`]: manifest bytes (ours, an earlier weld's, or
//! another tool's) → the layers and where the root is, plus
//! [`AppManifest::nonconformities`], what `weld store verify` reports.

use std::collections::HashMap;
use std::str::FromStr;

use oci_spec::image::{
    Descriptor, Digest as OciDigest, ImageIndex, ImageManifest, ImageManifestBuilder, MediaType,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weld_format::names::{canonical_hash_name, oci_digest, parse_hash_name_hex};

use super::{BlobStore, Digest, RootRecord, StoreError, Tag};

/// The media type of wasm layers.
pub(crate) const WASM_MEDIA_TYPE: &str = "application/wasm";
/// The wasm layer media type of older OCI wasm tools (oci-distribution's
/// `wasm-to-oci` convention), read as a root too.
const OLD_WASM_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+wasm";
/// The media type of the config blob of a Wasm OCI artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Annotation: the app a manifest describes (OCI's ref name).
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation on a layer: its file name.
pub(crate) const TITLE: &str = "org.opencontainers.image.title";
/// Annotation on manifests written by weld before the Wasm artifact layout:
/// the digest of the split root, which was not stored.
const LEGACY_ROOT_ANNOTATION: &str = "dev.weld.root";

/// The config blob of a Wasm OCI artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    /// When the artifact was made (RFC 3339).
    pub created: String,
    /// Always `wasm`.
    pub architecture: String,
    /// `wasip2` for a component, `wasip1` for a core module.
    pub os: String,
    /// The digests of the manifest's layers, in manifest order.
    pub layer_digests: Vec<String>,
    /// The root's world (components only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<World>,
}

/// A component's world as interface names: what it imports and exports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct World {
    /// Export names, in the component's order.
    pub exports: Vec<String>,
    /// Import names, in the component's order (hash-named children left out).
    pub imports: Vec<String>,
}

impl World {
    /// The top-level imports and exports of `component` (its own, not its
    /// children's), leaving out imports in canonical hash form or legacy
    /// hash form: those name the artifact's other layers.
    pub fn of_component(component: &[u8]) -> Result<World, wasmparser::BinaryReaderError> {
        let mut world = World::default();
        let mut depth = 0usize;
        for payload in wasmparser::Parser::new(0).parse_all(component) {
            match payload? {
                wasmparser::Payload::Version { .. } => depth += 1,
                wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
                wasmparser::Payload::ComponentImportSection(r) if depth == 1 => {
                    for i in r {
                        let i = i?;
                        let name = i.name.name;
                        if weld_format::names::import_digest(name, i.name.external_id).is_none() {
                            world.imports.push(name.to_string());
                        }
                    }
                }
                wasmparser::Payload::ComponentExportSection(r) if depth == 1 => {
                    for e in r {
                        world.exports.push(e?.name.name.to_string());
                    }
                }
                _ => {}
            }
        }
        Ok(world)
    }
}

/// The bytes of one app's artifact: the config blob and the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The config blob (`application/vnd.wasm.config.v0+json`).
    pub config: Vec<u8>,
    /// The image manifest.
    pub manifest: Vec<u8>,
}

/// `value` as pretty JSON with the keys of every object sorted.
pub(crate) fn canonical_json<T: serde::Serialize>(value: &T) -> String {
    fn sort(v: Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(String, Value)> = m.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k, sort(v)))
                        .collect::<Map<_, _>>(),
                )
            }
            Value::Array(a) => Value::Array(a.into_iter().map(sort).collect()),
            other => other,
        }
    }
    let v = serde_json::to_value(value).expect("OCI types serialize");
    serde_json::to_string_pretty(&sort(v)).expect("a JSON value serializes")
}

/// A descriptor of the blob `digest`.
pub(crate) fn descriptor(media_type: MediaType, size: u64, digest: &Digest) -> Descriptor {
    let d = OciDigest::from_str(&oci_digest(digest)).expect("a sha256 digest is a valid OCI digest");
    Descriptor::new(media_type, size, d)
}

fn wasm_layer(size: u64, digest: &Digest, title: String) -> Descriptor {
    let mut d = descriptor(MediaType::Other(WASM_MEDIA_TYPE.to_string()), size, digest);
    d.set_annotations(Some(HashMap::from([(TITLE.to_string(), title)])));
    d
}

/// The artifact of one app: `layers[0]` its root (titled `<app>.wasm`),
/// then its children (titled by the name the root imports them by), the
/// config listing them all.
pub fn artifact(record: &RootRecord) -> Artifact {
    let (root, root_size) = record.root;
    let mut layers = vec![wasm_layer(root_size, &root, format!("{}.wasm", record.name))];
    layers.extend(
        record
            .layers
            .iter()
            .filter(|(d, _)| *d != root)
            .map(|(d, size)| wasm_layer(*size, d, format!("{}.wasm", canonical_hash_name(d)))),
    );
    let config = WasmConfig {
        created: record.created.clone(),
        architecture: "wasm".to_string(),
        os: if record.world.is_some() {
            "wasip2"
        } else {
            "wasip1"
        }
        .to_string(),
        layer_digests: layers.iter().map(|l| l.digest().to_string()).collect(),
        component: record.world.clone(),
    };
    let config = canonical_json(&config).into_bytes();
    let config_digest = weld_format::digest::sha256(&config);
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(descriptor(
            MediaType::Other(WASM_CONFIG_MEDIA_TYPE.to_string()),
            config.len() as u64,
            &config_digest,
        ))
        .layers(layers)
        .build()
        .expect("a valid manifest");
    Artifact {
        config,
        manifest: canonical_json(&manifest).into_bytes(),
    }
}

/// Writes each record's config and manifest to `store` and tags each
/// manifest with its app's name, replacing earlier tags of the same names.
/// The roots and children must already be in the store. Returns the tags.
pub fn record_roots(store: &dyn BlobStore, roots: &[RootRecord]) -> Result<Vec<Tag>, StoreError> {
    let mut tags = Vec::with_capacity(roots.len());
    for r in roots {
        let a = artifact(r);
        store.put(&a.config)?;
        let (manifest, _) = store.put(&a.manifest)?;
        tags.push(Tag {
            name: r.name.clone(),
            manifest,
            size: a.manifest.len() as u64,
        });
    }
    store.tag(&tags)?;
    Ok(tags)
}

/// One blob a manifest names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Its SHA-256.
    pub digest: Digest,
    /// Its size, as the manifest says.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
    /// Its `org.opencontainers.image.title`, if any.
    pub title: Option<String>,
}

/// Manifest bytes weld cannot read as an app.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not an OCI image manifest.
    #[error("{what}: not an OCI image manifest: {source}")]
    NotOci {
        /// What the manifest is (`manifest`, `store X: app Y`).
        what: String,
        /// The OCI parser's error.
        #[source]
        source: oci_spec::OciSpecError,
    },
    /// A blob named by something other than a SHA-256 digest.
    #[error("{what}: blob {digest} is not named by a SHA-256 digest")]
    NotSha256 {
        /// What the manifest is.
        what: String,
        /// The digest as written.
        digest: String,
    },
    /// A manifest of an earlier weld, whose root is not stored.
    #[error("written by an earlier weld, whose root is not stored: bundle the root file with --store")]
    LegacyRoot,
    /// No layer is the root.
    #[error("its first layer is not wasm (application/wasm), so there is no root to bundle")]
    NoWasmRoot,
    /// Not laid out as the Wasm OCI artifact layout says.
    #[error("not a Wasm OCI artifact: {0}")]
    NotWasmArtifact(String),
}

/// A parsed app manifest, from any tool.
#[derive(Debug, Clone)]
pub struct AppManifest {
    /// The config blob.
    pub config: Layer,
    /// The layers, in order.
    pub layers: Vec<Layer>,
    /// The split root of a manifest written by weld before the Wasm artifact
    /// layout (not stored: `layers` are then only the children).
    pub legacy_root: Option<Digest>,
}

impl AppManifest {
    /// Parses manifest `bytes`; `what` names it in errors (`store X: app Y`).
    pub fn parse(bytes: &[u8], what: &str) -> Result<AppManifest, ManifestError> {
        let m = ImageManifest::from_reader(bytes).map_err(|source| ManifestError::NotOci {
            what: what.to_string(),
            source,
        })?;
        let layer = |d: &Descriptor| -> Result<Layer, ManifestError> {
            let digest = d
                .as_digest_sha256()
                .and_then(parse_hash_name_hex)
                .ok_or_else(|| ManifestError::NotSha256 {
                    what: what.to_string(),
                    digest: d.digest().to_string(),
                })?;
            Ok(Layer {
                digest,
                size: d.size(),
                media_type: d.media_type().to_string(),
                title: d.annotations().as_ref().and_then(|a| a.get(TITLE)).cloned(),
            })
        };
        let legacy_root = m
            .annotations()
            .as_ref()
            .and_then(|a| a.get(LEGACY_ROOT_ANNOTATION))
            .and_then(|d| d.strip_prefix("sha256:"))
            .and_then(parse_hash_name_hex);
        Ok(AppManifest {
            config: layer(m.config())?,
            layers: m.layers().iter().map(layer).collect::<Result<_, _>>()?,
            legacy_root,
        })
    }

    /// The root: `layers[0]` of a Wasm artifact (or of any manifest whose
    /// first layer is wasm, `application/wasm` or the older
    /// `application/vnd.wasm.content.layer.v1+wasm`), `None` for an earlier
    /// weld's manifest, whose root was not stored.
    pub fn root(&self) -> Option<&Layer> {
        if self.legacy_root.is_some() && self.config.media_type != WASM_CONFIG_MEDIA_TYPE {
            return None;
        }
        self.layers
            .first()
            .filter(|l| l.media_type == WASM_MEDIA_TYPE || l.media_type == OLD_WASM_MEDIA_TYPE)
    }

    /// Every blob the manifest names: the config, then the layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Layer> {
        std::iter::once(&self.config).chain(&self.layers)
    }

    /// Where this manifest (with config blob `config`, if it could be read)
    /// departs from the Wasm OCI artifact layout, one reason each.
    pub fn nonconformities(&self, config: Option<&[u8]>) -> Vec<String> {
        let mut out = Vec::new();
        if self.config.media_type != WASM_CONFIG_MEDIA_TYPE {
            out.push(format!(
                "config media type is {}, not {WASM_CONFIG_MEDIA_TYPE}",
                self.config.media_type
            ));
        }
        if self.legacy_root.is_some() {
            out.push(
                "written by an earlier weld: its root is not stored (bundle it from the root file)"
                    .to_string(),
            );
        }
        if self.layers.is_empty() {
            out.push("no layers".to_string());
        }
        for (i, l) in self.layers.iter().enumerate() {
            if l.media_type != WASM_MEDIA_TYPE {
                out.push(format!(
                    "layer {i} has media type {}, not {WASM_MEDIA_TYPE}",
                    l.media_type
                ));
            }
            if l.title.is_none() {
                out.push(format!("layer {i} has no {TITLE}"));
            }
        }
        if self.config.media_type == WASM_CONFIG_MEDIA_TYPE {
            match config.map(serde_json::from_slice::<WasmConfig>) {
                None => {}
                Some(Err(e)) => out.push(format!("config: not a Wasm config: {e}")),
                Some(Ok(c)) => {
                    if c.architecture != "wasm" {
                        out.push(format!(
                            "config: architecture is `{}`, not `wasm`",
                            c.architecture
                        ));
                    }
                    let want: Vec<String> = self.layers.iter().map(|l| oci_digest(&l.digest)).collect();
                    if c.layer_digests != want {
                        out.push("config: layerDigests do not list the layers in manifest order".to_string());
                    }
                    match c.os.as_str() {
                        "wasip2" if c.component.is_none() => {
                            out.push("config: os is wasip2 but there is no component world".to_string())
                        }
                        "wasip1" | "wasip2" => {}
                        other => out.push(format!("config: os is `{other}`, not `wasip1` or `wasip2`")),
                    }
                    if chrono::DateTime::parse_from_rfc3339(&c.created).is_err() {
                        out.push(format!("config: created `{}` is not an RFC 3339 time", c.created));
                    }
                }
            }
        }
        out
    }
}

/// The index entry of a manifest: its descriptor, annotated with the app.
pub(crate) fn index_entry(app: &str, manifest: &Digest, size: u64) -> Descriptor {
    let mut desc = descriptor(MediaType::ImageManifest, size, manifest);
    desc.set_annotations(Some(HashMap::from([(REF_NAME.to_string(), app.to_string())])));
    desc
}

/// The app a manifest's index entry names.
pub(crate) fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotations().as_ref()?.get(REF_NAME).map(String::as_str)
}

/// `index` with `entries` (app, manifest descriptor) put in, each replacing
/// any earlier entry of the same app; new apps go at the end, in order.
pub(crate) fn updated_index(index: &mut ImageIndex, entries: Vec<(String, Descriptor)>) {
    let mut manifests: Vec<Descriptor> = index.manifests().clone();
    for (app, desc) in entries {
        manifests.retain(|m| ref_name(m) != Some(app.as_str()));
        manifests.push(desc);
    }
    index.set_manifests(manifests);
}

/// `t` as RFC 3339 in UTC, to the second.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    // Whole seconds, clamped to what RFC 3339 can say (years 0000 to 9999).
    let secs = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let secs = secs.clamp(-62_167_219_200, 253_402_300_799);
    chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RootRecord {
        RootRecord {
            name: "app".to_string(),
            root: ([1; 32], 5),
            world: Some(World {
                exports: vec!["wasi:cli/run@0.2.0".to_string()],
                imports: vec!["wasi:io/streams@0.2.0".to_string()],
            }),
            layers: vec![([2; 32], 10), ([3; 32], 20)],
            created: "2026-12-01T00:00:00Z".to_string(),
        }
    }

    #[test]
    fn artifact_bytes_do_not_depend_on_hash_map_order() {
        let first = artifact(&record());
        for _ in 0..20 {
            assert_eq!(artifact(&record()), first);
        }
    }

    #[test]
    fn an_artifact_is_conformant_and_its_root_is_layer_zero() {
        let a = artifact(&record());
        let m = AppManifest::parse(&a.manifest, "test").unwrap();
        assert_eq!(m.nonconformities(Some(&a.config)), Vec::<String>::new());
        assert_eq!(m.root().unwrap().digest, [1; 32]);
        assert_eq!(m.root().unwrap().title.as_deref(), Some("app.wasm"));
        assert_eq!(m.layers.len(), 3);
        let c: WasmConfig = serde_json::from_slice(&a.config).unwrap();
        assert_eq!(c.os, "wasip2");
        assert_eq!(c.layer_digests[0], oci_digest(&[1; 32]));
        // A module's artifact has no world and is wasip1.
        let mut module = record();
        module.world = None;
        let c: WasmConfig = serde_json::from_slice(&artifact(&module).config).unwrap();
        assert_eq!((c.os.as_str(), c.component), ("wasip1", None));
    }

    #[test]
    fn rfc3339_never_panics() {
        let far = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::MAX / 4);
        assert_eq!(rfc3339(far), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn a_broken_config_is_named() {
        let a = artifact(&record());
        let m = AppManifest::parse(&a.manifest, "test").unwrap();
        let mut c: WasmConfig = serde_json::from_slice(&a.config).unwrap();
        c.layer_digests.reverse();
        c.created = "yesterday".to_string();
        let found = m.nonconformities(Some(canonical_json(&c).as_bytes()));
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
