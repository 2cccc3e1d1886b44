//! An app made from one file, ready to push: a core module as one layer, a
//! component split into the store (its root `layers[0]`, each child a layer
//! once) or, when asked, bundled as one layer, as wkg publishes it; then its
//! manifest recorded and tagged. One pass over the file, as [`split`] makes.

use super::manifest::{record_roots, rfc3339, World};
use super::split::{split, SplitError, SplitOptions};
use super::{BlobStore, Digest, RootRecord};
use weld_format::Problem;

/// How [`store_app`] lays an app out.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// The app's name in the store (its tag).
    pub name: String,
    /// A component as one layer, unsplit.
    pub bundled: bool,
    /// How a component is split (nested modules and components smaller
    /// than `min_size` stay inline), and when the app was made (`created`,
    /// for every kind of app).
    pub split: SplitOptions,
}

/// What [`store_app`] recorded.
#[derive(Debug, Clone)]
pub struct StoredApp {
    /// The app's manifest, tagged with its name in the store.
    pub manifest: Digest,
    /// What the manifest was made from.
    pub record: RootRecord,
    /// The split's warnings (children left inline, and why).
    pub warnings: Vec<String>,
}

/// Stores the module or component `bytes` (named `input` in messages) as
/// an app of `store`: its blobs, config and manifest, tagged `opts.name`.
pub fn store_app(
    opts: &AppOptions,
    input: &str,
    bytes: &[u8],
    store: &dyn BlobStore,
) -> Result<StoredApp, SplitError> {
    let created = rfc3339(opts.split.created);
    let component = wasmparser::Parser::is_component(bytes);
    let (record, warnings) = if !component || opts.bundled {
        let world = if component {
            Some(World::of_component(bytes).map_err(|e| {
                SplitError::Invalid(Box::new(Problem::parse(input, None, e).because("invalid")))
            })?)
        } else {
            None
        };
        let (root, _) = store.put(bytes)?;
        let record = RootRecord {
            name: opts.name.clone(),
            root: (root, bytes.len() as u64),
            world,
            layers: Vec::new(),
            created: created.clone(),
        };
        (record, Vec::new())
    } else {
        let s = split(&opts.split, input, bytes, store)?;
        (s.record(&opts.name, store, &created)?, s.warnings)
    };
    let tags = record_roots(store, std::slice::from_ref(&record))?;
    Ok(StoredApp {
        manifest: tags[0].manifest,
        record,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{open_app, MemoryStore};

    fn opts(bundled: bool) -> AppOptions {
        AppOptions {
            name: "app".into(),
            bundled,
            split: SplitOptions {
                min_size: 0,
                ..SplitOptions::default()
            },
        }
    }

    #[test]
    fn a_component_is_split_into_layers_unless_bundled() {
        let c = wat::parse_str(
            r#"(component (core module $m (func (export "f"))) (core instance (instantiate $m)))"#,
        )
        .unwrap();
        let store = MemoryStore::new();
        let split = store_app(&opts(false), "c.wat", &c, &store).unwrap();
        let (_, m) = open_app(&store, "app").unwrap();
        assert_eq!(m.layers.len(), 2, "the root and the module");
        assert_eq!(split.record.layers.len(), 1);
        let store = MemoryStore::new();
        let one = store_app(&opts(true), "c.wat", &c, &store).unwrap();
        let (_, m) = open_app(&store, "app").unwrap();
        assert_eq!(m.layers.len(), 1);
        assert!(one.record.world.is_some());
        assert_ne!(split.manifest, one.manifest);
    }

    #[test]
    fn a_core_module_is_one_layer_without_a_world() {
        let m = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
        let store = MemoryStore::new();
        let app = store_app(&opts(false), "m.wat", &m, &store).unwrap();
        assert!(app.record.world.is_none());
        assert_eq!(store.get(&app.record.root.0).unwrap(), m);
    }

    #[test]
    fn an_invalid_component_names_the_input() {
        let mut c = wat::parse_str("(component)").unwrap();
        c.extend_from_slice(&[0x07, 0x05]);
        let e = store_app(&opts(true), "bad.wasm", &c, &MemoryStore::new())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad.wasm: invalid: "), "{e}");
        assert!(!e.contains('\n'));
    }
}
