//! The JSON a store records: one OCI image manifest per split root, and the
//! image index listing them. `RootRecord` → bytes, deterministic: every
//! object's keys are written sorted (oci-spec keeps annotations in a
//! `HashMap`, whose order changes from run to run, and with it the
//! manifest's digest), so the same records always give the same bytes.

use std::collections::HashMap;
use std::str::FromStr;

use oci_spec::image::{Descriptor, Digest as OciDigest, ImageIndex, ImageManifestBuilder, MediaType};
use serde_json::{Map, Value};
use weld_format::names::oci_digest;

use super::{Digest, RootRecord};

/// The media type of wasm blobs.
pub(crate) const WASM_MEDIA_TYPE: &str = "application/wasm";
/// Annotation: the app a manifest describes (OCI's ref name).
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Annotation on a manifest: the digest of the split root.
const ROOT_ANNOTATION: &str = "dev.weld.root";
/// The config blob every manifest points at (the empty JSON object).
pub(crate) const EMPTY_CONFIG: &[u8] = b"{}";

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

/// The manifest of one split root: its children as layers, the app and the
/// root's digest as annotations, `config` the empty config blob.
pub(crate) fn manifest_json(record: &RootRecord, config: &Digest) -> String {
    let layers = record
        .layers
        .iter()
        .map(|(d, size)| descriptor(MediaType::Other(WASM_MEDIA_TYPE.to_string()), *size, d))
        .collect::<Vec<_>>();
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .artifact_type(MediaType::Other(WASM_MEDIA_TYPE.to_string()))
        .config(descriptor(
            MediaType::EmptyJSON,
            EMPTY_CONFIG.len() as u64,
            config,
        ))
        .layers(layers)
        .annotations(HashMap::from([
            (ROOT_ANNOTATION.to_string(), oci_digest(&record.root)),
            (REF_NAME.to_string(), record.name.clone()),
        ]))
        .build()
        .expect("a valid manifest");
    canonical_json(&manifest)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_bytes_do_not_depend_on_hash_map_order() {
        let record = RootRecord {
            name: "app".to_string(),
            root: [1; 32],
            layers: vec![([2; 32], 10), ([3; 32], 20)],
        };
        let first = manifest_json(&record, &[4; 32]);
        for _ in 0..20 {
            assert_eq!(manifest_json(&record, &[4; 32]), first);
        }
        let ann = first.find("\"annotations\"").unwrap();
        let root = first.find("dev.weld.root").unwrap();
        let name = first.find(REF_NAME).unwrap();
        assert!(ann < root && root < name, "{first}");
    }
}
