//! `weld bundle`: the inverse of split. Every import named by a digest is
//! looked up in the store, verified, bundled itself (transitively, inside
//! out), and put where the import stood: a core module import becomes the
//! module, a component import the component. Index spaces are unchanged (a
//! definition takes the import's index), so nothing else is rewritten; the
//! type declaration the import used stays, unused.
//!
//! Names read: `sha256-<hex>` / `external-id "sha256:<hex>"` (what split
//! writes), and the legacy `integrity=sha256-<base64>` and
//! `locked-dep=<...>,integrity=<...>`.
//!
//! **Type check.** That a blob has the type its import declared is checked
//! by the validator: a probe copy of the bundled component ends with one
//! export per inlined blob, ascribed the declared type
//! (`(export "…" (core module $m) (core module (type $declared)))`), which
//! the validator accepts only if the blob's type is a subtype. The probe's
//! exports are not part of the output. Each probe export is a section of its
//! own whose byte range is recorded as it is appended, so a failure is
//! mapped back to its import by the validator's offset alone.
//!
//! Input: a split root in memory and any [`BlobStore`]; output: the bundled
//! component. Cost: one section walk per component, one SHA-256 per blob,
//! one validation per component that inlined a blob.

use wasm_encoder::{ComponentExportKind, ComponentExportSection, ComponentTypeRef, RawSection};
use wasmparser::{ComponentTypeRef as PRef, Payload};
use weld_format::names::{hex, import_digest, oci_digest};

use crate::store::{BlobStore, Digest, ManifestError, StoreError};
use weld_format::sections::{sections, Defined};
use weld_format::Problem;

/// Bundling failed.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The input is not a component.
    #[error("{input}: is not a component (bundle takes a split root)")]
    NotAComponent {
        /// The input.
        input: String,
    },
    /// A hash-named import cannot be resolved.
    #[error("{input}: import `{import}`: {reason}")]
    Import {
        /// The component importing it (a path from the input).
        input: String,
        /// The import name.
        import: String,
        /// Why.
        reason: String,
    },
    /// The store cannot give the blob a hash-named import names (missing,
    /// corrupt, or the store failed); the store's error names the digest.
    #[error("{input}: import `{import}`: {source}")]
    Blob {
        /// The component importing it (a path from the input).
        input: String,
        /// The import name.
        import: String,
        /// The store's error.
        #[source]
        source: Box<StoreError>,
    },
    /// The app's manifest cannot be read from the store.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// The app's root (`layers[0]`) cannot be read from the store.
    #[error("app `{app}`: its root (layers[0]): {source}")]
    Root {
        /// The app.
        app: String,
        /// The store's error.
        #[source]
        source: Box<StoreError>,
    },
    /// The bundled component does not validate.
    #[error("{input}: the bundled component does not validate: {message} (at offset {offset:#x})")]
    Invalid {
        /// The input.
        input: String,
        /// The validator's message.
        message: String,
        /// Where.
        offset: u64,
    },
    /// The input is malformed.
    #[error(transparent)]
    Malformed(Box<Problem>),
}

impl From<StoreError> for BundleError {
    fn from(e: StoreError) -> BundleError {
        BundleError::Store(Box::new(e))
    }
}

/// Options for [`bundle`].
#[derive(Debug, Clone)]
pub struct BundleOptions {
    /// Validate function bodies of the output too (types always are).
    pub validate: bool,
}

impl Default for BundleOptions {
    fn default() -> Self {
        BundleOptions { validate: true }
    }
}

/// A bundled component.
#[derive(Debug)]
pub struct Bundled {
    /// The component.
    pub bytes: Vec<u8>,
    /// Every blob inlined: digest, size, where.
    pub inlined: Vec<(Digest, u64, String)>,
}

/// Bundles the split root `bytes` (named `name` in messages) from `store`.
///
/// ```
/// use weld_linker::{bundle, split, BundleOptions, MemoryStore, SplitOptions};
/// let app = wat::parse_str(
///     r#"(component
///          (core module $m (func (export "seven") (result i32) i32.const 7))
///          (core instance (instantiate $m)))"#,
/// )
/// .unwrap();
/// let store = MemoryStore::new();
/// let opts = SplitOptions { min_size: 0, ..SplitOptions::default() };
/// let s = split(&opts, "app.wasm", &app, &store).unwrap();
/// let b = bundle(&BundleOptions::default(), "root.wasm", &s.root, &store).unwrap();
/// // Every hash-named import was inlined from the store, verified.
/// assert_eq!(b.inlined.len(), 1);
/// wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
///     .validate_all(&b.bytes)
///     .unwrap();
/// // With the blob gone, bundling is an error naming it, not a panic.
/// let empty = MemoryStore::new();
/// let e = bundle(&BundleOptions::default(), "root.wasm", &s.root, &empty).unwrap_err();
/// assert!(e.to_string().starts_with("root.wasm"), "{e}");
/// ```
pub fn bundle(
    opts: &BundleOptions,
    name: &str,
    bytes: &[u8],
    store: &dyn BlobStore,
) -> Result<Bundled, BundleError> {
    if !wasmparser::Parser::is_component(bytes) {
        return Err(BundleError::NotAComponent {
            input: name.to_string(),
        });
    }
    let mut cx = Cx {
        store,
        inlined: Vec::new(),
        stack: Vec::new(),
        bodies: opts.validate,
        top_checked: false,
    };
    let out = cx.component(bytes, name, true)?;
    // The top-level type check validated a copy of the output plus trailing
    // exports, which covers the output itself; otherwise validate it now.
    if !cx.top_checked {
        weld_format::validate::validate(&out, opts.validate).map_err(|e| BundleError::Invalid {
            input: name.to_string(),
            message: e.message().to_string(),
            offset: e.offset(),
        })?;
    }
    Ok(Bundled {
        bytes: out,
        inlined: cx.inlined,
    })
}

/// Bundles the app `name` of `store`: its manifest's `layers[0]` is the
/// root, its other layers the blobs the root imports. A root that is a core
/// module, or a component importing nothing by hash (a one-layer artifact
/// as wkg publishes it), is returned as it is, verified.
pub fn bundle_app(opts: &BundleOptions, store: &dyn BlobStore, name: &str) -> Result<Bundled, BundleError> {
    let (tag, _) = crate::store::open_app(store, name)?;
    bundle_manifest(opts, store, name, &tag.manifest)
}

/// Bundles the app whose manifest is `manifest` in `store`, as
/// [`bundle_app`] does, reading that manifest by its digest: what a pull
/// wrote is what it bundles, even while another process retags `name`
/// (which names the app in errors).
pub fn bundle_manifest(
    opts: &BundleOptions,
    store: &dyn BlobStore,
    name: &str,
    manifest: &Digest,
) -> Result<Bundled, BundleError> {
    let manifest = crate::store::open_manifest(store, name, manifest)?;
    let Some(root) = manifest.root() else {
        return Err(BundleError::from(StoreError::BadManifest {
            store: store.location(),
            app: name.to_string(),
            source: if manifest.legacy_root.is_some() {
                ManifestError::LegacyRoot
            } else {
                ManifestError::NoWasmRoot
            },
        }));
    };
    let bytes = store.get(&root.digest).map_err(|source| BundleError::Root {
        app: name.to_string(),
        source: Box::new(source),
    })?;
    let label = format!("{name} (root {})", oci_digest(&root.digest));
    if !wasmparser::Parser::is_component(&bytes) {
        weld_format::validate::validate(&bytes, opts.validate).map_err(|e| BundleError::Invalid {
            input: label,
            message: e.message().to_string(),
            offset: e.offset(),
        })?;
        return Ok(Bundled {
            bytes,
            inlined: Vec::new(),
        });
    }
    bundle(opts, &label, &bytes, store)
}

struct Cx<'a> {
    store: &'a dyn BlobStore,
    inlined: Vec<(Digest, u64, String)>,
    /// Digests being bundled, outermost first (a blob importing itself is a cycle).
    stack: Vec<Digest>,
    /// Validate function bodies (in the top-level check).
    bodies: bool,
    /// Whether the top level's check validated the whole output.
    top_checked: bool,
}

/// One inlined blob to type-check: its import name, kind, index and declared type.
struct Check {
    import: String,
    digest: Digest,
    kind: ComponentExportKind,
    index: u32,
    declared: ComponentTypeRef,
}

impl Cx<'_> {
    fn component(&mut self, bytes: &[u8], path: &str, top: bool) -> Result<Vec<u8>, BundleError> {
        let malformed = |e| BundleError::Malformed(Box::new(Problem::parse(path, None, e)));
        let secs = sections(bytes).map_err(malformed)?;
        let mut out = wasm_encoder::Component::new();
        // Only the module and component counts matter here: a blob takes
        // its import's index, so the import is counted as a definition.
        let mut defined = Defined::default();
        let mut checks: Vec<Check> = Vec::new();
        for s in secs {
            let nested = s.nested();
            let raw = s.raw();
            match s.payload {
                Payload::ModuleSection { .. } => {
                    defined.add(&s.payload);
                    out.section(&raw);
                }
                Payload::ComponentSection { .. } => {
                    let where_ = format!("{path}/component {}", defined.components);
                    defined.add(&s.payload);
                    let inner =
                        self.component(&bytes[nested.expect("a nested component")], &where_, false)?;
                    out.section(&RawSection { id: 4, data: &inner });
                }
                Payload::ComponentImportSection(reader) => {
                    let end = s.range.end as u64;
                    let entries: Vec<(u64, wasmparser::ComponentImport<'_>)> = reader
                        .into_iter_with_offsets()
                        .collect::<Result<_, _>>()
                        .map_err(malformed)?;
                    let mut pending: Vec<&[u8]> = Vec::new();
                    for (k, (at, import)) in entries.iter().enumerate() {
                        let next = entries.get(k + 1).map_or(end, |(n, _)| *n) as usize;
                        let entry = &bytes[*at as usize..next];
                        let digest = import_digest(import.name.name, import.name.external_id);
                        let (Some(digest), PRef::Module(_) | PRef::Component(_)) = (digest, import.ty) else {
                            match import.ty {
                                PRef::Module(_) => defined.modules += 1,
                                PRef::Component(_) => defined.components += 1,
                                _ => {}
                            }
                            if digest.is_some() {
                                return Err(BundleError::Import {
                                    input: path.to_string(),
                                    import: import.name.name.to_string(),
                                    reason: "names a digest but imports neither a module nor a component"
                                        .to_string(),
                                });
                            }
                            pending.push(entry);
                            continue;
                        };
                        flush_imports(&mut out, &mut pending);
                        let (index, kind, declared, want_component) = match import.ty {
                            PRef::Module(t) => {
                                defined.modules += 1;
                                (
                                    defined.modules - 1,
                                    ComponentExportKind::Module,
                                    ComponentTypeRef::Module(t),
                                    false,
                                )
                            }
                            PRef::Component(t) => {
                                defined.components += 1;
                                (
                                    defined.components - 1,
                                    ComponentExportKind::Component,
                                    ComponentTypeRef::Component(t),
                                    true,
                                )
                            }
                            _ => unreachable!("matched above"),
                        };
                        let name = import.name.name.to_string();
                        let blob = self.blob(&digest, path, &name, want_component)?;
                        self.inlined
                            .push((digest, blob.len() as u64, format!("{path}/{name}")));
                        checks.push(Check {
                            import: name,
                            digest,
                            kind,
                            index,
                            declared,
                        });
                        out.section(&RawSection {
                            id: if want_component { 4 } else { 1 },
                            data: &blob,
                        });
                    }
                    flush_imports(&mut out, &mut pending);
                }
                payload => {
                    defined.add(&payload);
                    out.section(&raw);
                }
            }
        }
        let bytes = out.finish();
        if !checks.is_empty() {
            self.check(&bytes, &checks, path, top)?;
        }
        Ok(bytes)
    }

    /// Reads, verifies and bundles the blob an import names.
    fn blob(
        &mut self,
        digest: &Digest,
        path: &str,
        import: &str,
        component: bool,
    ) -> Result<Vec<u8>, BundleError> {
        let err = |reason: String| BundleError::Import {
            input: path.to_string(),
            import: import.to_string(),
            reason,
        };
        if self.stack.contains(digest) {
            let chain: Vec<String> = self.stack.iter().chain([digest]).map(oci_digest).collect();
            return Err(err(format!("cycle: {}", chain.join(" -> "))));
        }
        if self.stack.len() >= crate::limits::MAX_BUNDLE_DEPTH {
            return Err(err(format!(
                "blobs nested more than {} deep (the validator's component nesting limit)",
                crate::limits::MAX_BUNDLE_DEPTH
            )));
        }
        let blob = self.store.get(digest).map_err(|source| BundleError::Blob {
            input: path.to_string(),
            import: import.to_string(),
            source: Box::new(source),
        })?;
        let is_component = wasmparser::Parser::is_component(&blob);
        let is_module = wasmparser::Parser::is_core_wasm(&blob);
        match (component, is_component, is_module) {
            (true, true, _) => {
                self.stack.push(*digest);
                let inner = self.component(&blob, &format!("{path}/{import}"), false);
                self.stack.pop();
                inner
            }
            (false, _, true) => Ok(blob),
            (true, _, _) => Err(err(format!(
                "imports a component, but blob {} is not one",
                oci_digest(digest)
            ))),
            (false, _, _) => Err(err(format!(
                "imports a core module, but blob {} is not one",
                oci_digest(digest)
            ))),
        }
    }

    /// Validates a probe of `bytes` that ends with one export section per
    /// inlined blob, exporting it with its declared type.
    fn check(&mut self, bytes: &[u8], checks: &[Check], path: &str, top: bool) -> Result<(), BundleError> {
        let mut probe = bytes.to_vec();
        // Where each check's export section starts in the probe, ascending.
        let mut starts: Vec<usize> = Vec::with_capacity(checks.len());
        for (i, c) in checks.iter().enumerate() {
            starts.push(probe.len());
            let name = format!("weld-check-{}-{i}", &hex(&c.digest)[..12]);
            let mut exports = ComponentExportSection::new();
            exports.export(name.as_str(), c.kind, c.index, Some(c.declared));
            probe.push(11);
            wasm_encoder::Encode::encode(&exports, &mut probe);
        }
        let Err(e) = weld_format::validate::validate(&probe, top && self.bodies) else {
            self.top_checked |= top;
            return Ok(());
        };
        let offset = e.offset() as usize;
        // The last check whose section starts at or before the offset: the
        // one the validator was reading.
        let Some(k) = starts.partition_point(|&at| at <= offset).checked_sub(1) else {
            // Not about a declared type: at the top the output's own
            // validation reports it; a nested component may not be valid
            // on its own (outer aliases), which the top-level check covers.
            return if top {
                Err(BundleError::Invalid {
                    input: path.to_string(),
                    message: e.message().to_string(),
                    offset: e.offset(),
                })
            } else {
                Ok(())
            };
        };
        let c = &checks[k];
        Err(BundleError::Import {
            input: path.to_string(),
            import: c.import.clone(),
            reason: format!(
                "blob {} does not have the declared type: {}",
                oci_digest(&c.digest),
                e.message()
            ),
        })
    }
}

/// Writes the pending (non-hash) imports as one import section.
fn flush_imports(out: &mut wasm_encoder::Component, pending: &mut Vec<&[u8]>) {
    if pending.is_empty() {
        return;
    }
    let mut data = Vec::new();
    wasm_encoder::Encode::encode(&(pending.len() as u32), &mut data);
    for e in pending.drain(..) {
        data.extend_from_slice(e);
    }
    out.section(&RawSection { id: 10, data: &data });
}
