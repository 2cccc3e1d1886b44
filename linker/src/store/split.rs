//! `weld split`: nested modules and components → blobs in a store, imported
//! back by canonical hash name (DESIGN §3).
//!
//! [`split`]: one component (bytes in memory) → its split root and the
//! children it put in a [`BlobStore`]. [`split_apps`]: several apps into one
//! store, in parallel, then their manifests recorded. Cost: one validation
//! and one section walk per component at every depth, one SHA-256 per child;
//! bytes not rewritten are copied as slices.
//!
//! Each nested core module (section 1) and component (section 4) of at least
//! `min_size` bytes, at any depth, goes to the store and is replaced, where it
//! stood, by a type declaration and an import of that type named
//! `sha256-<hex>` with `external-id "sha256:<hex>"`. Because the import takes
//! the definition's place, the module and component index spaces keep their
//! numbering; only the type index spaces grow by the declarations inserted,
//! and every later reference to a type is shifted accordingly (a streaming
//! re-encode of the sections after the first insertion; sections before it
//! and every nested child kept are copied byte for byte). A child that occurs
//! twice in one component is imported once; the second place becomes an
//! `alias outer 0` of the first.
//!
//! Nested components are split inside out: a component's own children first,
//! then the rewritten component itself is the blob.
//!
//! **Determinism.** The roots and the store's contents do not depend on the
//! number of threads. Which parallel app writes a shared blob first does, so
//! [`split_apps`] reattributes `new`: a blob this run added is new for the
//! first app in input order that has it, and for no other.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode, ReencodeComponent};
use wasm_encoder::{
    Alias, ComponentAliasSection, ComponentCoreTypeEncoder, ComponentExternName, ComponentImportSection,
    ComponentOuterAliasKind, ComponentTypeEncoder, ComponentTypeRef, ComponentTypeSection, CoreTypeSection,
    RawSection,
};
use wasmparser::component_types::ComponentAnyTypeId;
use wasmparser::types::Types;
use wasmparser::Payload;
use weld_format::digest::sha256;
use weld_format::names::{canonical_hash_name, oci_digest};
use weld_format::Inputs;

use crate::store::{record_roots, rfc3339, BlobStore, Digest, RootRecord, StoreError, World};
use weld_format::sections::{sections, Defined};
use weld_format::type_encode::{Decls, TypeEncoder};
use weld_format::Problem;

/// Splitting failed.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// The input is not a component.
    #[error("{input}: is not a component (split takes components)")]
    NotAComponent {
        /// The input.
        input: String,
    },
    /// A component (or the split root) does not validate; its input is
    /// the component as a path from the app (`app/component 0`).
    #[error(transparent)]
    Invalid(Box<Problem>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Options for [`split`].
#[derive(Debug, Clone)]
pub struct SplitOptions {
    /// Children smaller than this stay inline.
    pub min_size: usize,
    /// The `created` time of the manifests [`split_apps`] records (the CLI
    /// takes `SOURCE_DATE_EPOCH` when set, for reproducible stores).
    pub created: std::time::SystemTime,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions {
            min_size: 1024,
            created: std::time::SystemTime::now(),
        }
    }
}

/// One child written to (or found in) the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChild {
    /// Its SHA-256.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// `module` or `component`.
    pub kind: &'static str,
    /// Where it was, e.g. `app/component 0/module 2`.
    pub path: String,
    /// Whether this split added it to the store (false: the store had it,
    /// or an earlier place in this split, or an earlier app of
    /// [`split_apps`], put it there).
    pub new: bool,
}

/// A split app.
#[derive(Debug)]
pub struct Split {
    /// The root, importing its children by hash.
    pub root: Vec<u8>,
    /// Every child replaced by an import (a child replaced twice is listed twice).
    pub children: Vec<StoredChild>,
    /// What was left inline and why.
    pub warnings: Vec<String>,
}

impl Split {
    /// The distinct children (digest, size), sorted: the layers of the app's
    /// manifest after its root.
    pub fn layers(&self) -> Vec<(Digest, u64)> {
        let mut layers: Vec<(Digest, u64)> = self.children.iter().map(|c| (c.digest, c.size)).collect();
        layers.sort();
        layers.dedup();
        layers
    }

    /// Puts the root in `store` and describes the app's artifact: the root
    /// as `layers[0]`, its world, its children.
    pub fn record(&self, name: &str, store: &dyn BlobStore, created: &str) -> Result<RootRecord, SplitError> {
        let (root, _) = store.put(&self.root)?;
        let world = World::of_component(&self.root)
            .map_err(|e| SplitError::invalid(format!("{name} (split root)"), e))?;
        Ok(RootRecord {
            name: name.to_string(),
            root: (root, self.root.len() as u64),
            world: Some(world),
            layers: self.layers(),
            created: created.to_string(),
        })
    }

    /// How many children this split added to the store.
    pub fn new_children(&self) -> usize {
        self.children.iter().filter(|c| c.new).count()
    }
}

impl SplitError {
    /// `input` does not validate, as the validator says.
    #[cold]
    fn invalid(input: impl Into<String>, e: wasmparser::BinaryReaderError) -> SplitError {
        SplitError::Invalid(Box::new(Problem::parse(input, None, e).because("invalid")))
    }
}

/// Splits component `bytes` (named `name` in messages) into `store`.
/// Records no manifest (see [`split_apps`]).
///
/// ```
/// use weld_linker::{split, BlobStore, MemoryStore, SplitOptions};
/// let app = wat::parse_str(
///     r#"(component
///          (core module $m (func (export "seven") (result i32) i32.const 7))
///          (core instance (instantiate $m)))"#,
/// )
/// .unwrap();
/// let store = MemoryStore::new();
/// let opts = SplitOptions { min_size: 0, ..SplitOptions::default() };
/// let s = split(&opts, "app.wasm", &app, &store).unwrap();
/// // The module went to the store; the root imports it by its hash name.
/// assert_eq!(s.children.len(), 1);
/// assert_eq!(s.layers().len(), 1);
/// let (digest, size) = s.layers()[0];
/// assert_eq!(store.get(&digest).unwrap().len() as u64, size);
/// // The root is a valid component on its own.
/// wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
///     .validate_all(&s.root)
///     .unwrap();
/// ```
pub fn split(
    opts: &SplitOptions,
    name: &str,
    bytes: &[u8],
    store: &dyn BlobStore,
) -> Result<Split, SplitError> {
    if !wasmparser::Parser::is_component(bytes) {
        return Err(SplitError::NotAComponent {
            input: name.to_string(),
        });
    }
    let mut cx = Cx {
        opts,
        store,
        children: Vec::new(),
        warnings: Vec::new(),
    };
    let root = cx.component(bytes, name)?;
    weld_format::validate::validate(&root, false)
        .map_err(|e| SplitError::invalid(format!("{name} (split root)"), e))?;
    Ok(Split {
        root,
        children: cx.children,
        warnings: cx.warnings,
    })
}

/// Splits every input (components; messages name them by
/// [`display`](weld_format::Input::display)) into one store, in parallel,
/// then records one manifest per app, named by the input's
/// [`name`](weld_format::Input::name). Returns the splits in input order.
///
/// A child shared by several apps is stored once and counted `new` for the
/// first app in input order that has it, so the result is the same on any
/// number of threads. On an error nothing is recorded (blobs already put
/// stay: they are content-addressed and harmless).
pub fn split_apps(
    opts: &SplitOptions,
    inputs: &Inputs,
    store: &dyn BlobStore,
) -> Result<Vec<Split>, SplitError> {
    // Each app is independent: split them in parallel, collect in order.
    let apps: Vec<&weld_format::Input> = inputs.iter().collect();
    let mut splits = apps
        .par_iter()
        .map(|i| split(opts, &i.display, i.bytes(), store))
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    // Of concurrent puts of one blob exactly one was new: the blobs this run
    // added. Give each to the first place in input order that has it.
    let added: HashSet<Digest> = splits
        .iter()
        .flat_map(|s| &s.children)
        .filter(|c| c.new)
        .map(|c| c.digest)
        .collect();
    let mut claimed: HashSet<Digest> = HashSet::with_capacity(added.len());
    for c in splits.iter_mut().flat_map(|s| &mut s.children) {
        c.new = added.contains(&c.digest) && claimed.insert(c.digest);
    }
    let created = rfc3339(opts.created);
    let mut records = Vec::with_capacity(splits.len());
    for (i, s) in apps.iter().zip(&splits) {
        records.push(s.record(&i.name, store, &created)?);
    }
    record_roots(store, &records)?;
    Ok(splits)
}

struct Cx<'a> {
    opts: &'a SplitOptions,
    store: &'a dyn BlobStore,
    children: Vec<StoredChild>,
    warnings: Vec<String>,
}

/// Type definitions inserted so far, and the shift each original type got.
#[derive(Default)]
struct Shifts {
    /// For each original core type, how many were inserted before it.
    core: Vec<u32>,
    /// For each original component type, how many were inserted before it.
    comp: Vec<u32>,
    inserted_core: u32,
    inserted_comp: u32,
}

impl Shifts {
    fn any(&self) -> bool {
        self.inserted_core > 0 || self.inserted_comp > 0
    }

    /// Gives the types `defined` counts beyond those seen so far the shift
    /// in force now.
    fn defined(&mut self, defined: &Defined) {
        self.core.resize(defined.core_types as usize, self.inserted_core);
        self.comp.resize(defined.types as usize, self.inserted_comp);
    }
}

/// Re-encodes a section with type references shifted.
struct Shifter<'a> {
    shifts: &'a Shifts,
    depth: u32,
}

fn shifted(table: &[u32], ty: u32) -> u32 {
    ty + table.get(ty as usize).copied().unwrap_or(0)
}

impl Reencode for Shifter<'_> {
    type Error = std::convert::Infallible;
    fn type_index(&mut self, ty: u32) -> Result<u32, ReencodeError<Self::Error>> {
        Ok(if self.depth == 0 {
            shifted(&self.shifts.core, ty)
        } else {
            ty
        })
    }
}

impl ReencodeComponent for Shifter<'_> {
    fn component_type_index(&mut self, ty: u32) -> u32 {
        if self.depth == 0 {
            shifted(&self.shifts.comp, ty)
        } else {
            ty
        }
    }
    fn outer_type_index(&mut self, count: u32, ty: u32) -> Result<u32, ReencodeError<Self::Error>> {
        Ok(if count == self.depth {
            shifted(&self.shifts.core, ty)
        } else {
            ty
        })
    }
    fn outer_component_type_index(&mut self, count: u32, ty: u32) -> u32 {
        if count == self.depth {
            shifted(&self.shifts.comp, ty)
        } else {
            ty
        }
    }
    fn push_depth(&mut self) {
        self.depth += 1;
    }
    fn pop_depth(&mut self) {
        self.depth -= 1;
    }
}

/// Collects the one type declaration of a child's import, numbered where it
/// lands in the output.
struct Insert {
    core_next: u32,
    type_next: u32,
    core: CoreTypeSection,
    types: ComponentTypeSection,
}

impl Decls for Insert {
    fn new_type(&mut self) -> (u32, ComponentTypeEncoder<'_>) {
        self.type_next += 1;
        (self.type_next - 1, self.types.ty())
    }
    fn new_core_type(&mut self) -> (u32, ComponentCoreTypeEncoder<'_>) {
        self.core_next += 1;
        (self.core_next - 1, self.core.ty())
    }
    fn add_alias(&mut self, _alias: Alias<'_>) -> u32 {
        unreachable!("a standalone child's type refers to nothing outside it")
    }
    fn add_export(&mut self, _name: &str, _ty: ComponentTypeRef) -> u32 {
        unreachable!("type declarations at a component's top level are not exports")
    }
}

impl Cx<'_> {
    fn record(&mut self, digest: Digest, child: &[u8], kind: Kind, path: &str, new: bool) {
        self.children.push(StoredChild {
            digest,
            size: child.len() as u64,
            kind: match kind {
                Kind::Module => "module",
                Kind::Component => "component",
            },
            path: path.to_string(),
            new,
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Module,
    Component,
}

impl Cx<'_> {
    /// Rewrites one component: its big children become imports.
    fn component(&mut self, bytes: &[u8], path: &str) -> Result<Vec<u8>, SplitError> {
        let invalid = |e| SplitError::invalid(path, e);
        let types = weld_format::validate::validate(bytes, false).map_err(invalid)?;
        let secs = sections(bytes).map_err(invalid)?;
        let mut shifts = Shifts::default();
        let mut out = wasm_encoder::Component::new();
        let mut defined = Defined::default();
        // Digest → (kind, index) of the import already made in this component.
        let mut imported: HashMap<Digest, (Kind, u32)> = HashMap::new();
        for s in secs {
            let nested = s.nested();
            let raw = s.raw();
            // The counts before this section: a nested child's index.
            let before = defined;
            defined.add(&s.payload);
            match s.payload {
                Payload::ModuleSection { .. } => {
                    let index = before.modules;
                    let child = &bytes[nested.expect("a nested module")];
                    if child.len() < self.opts.min_size {
                        out.section(&raw);
                        continue;
                    }
                    let where_ = format!("{path}/module {index}");
                    self.replace(
                        &mut out,
                        &types,
                        Kind::Module,
                        index,
                        child,
                        &where_,
                        &mut shifts,
                        &mut imported,
                    )?;
                }
                Payload::ComponentSection { .. } => {
                    let index = before.components;
                    let child = &bytes[nested.expect("a nested component")];
                    let where_ = format!("{path}/component {index}");
                    let inner = match self.component(child, &where_) {
                        Ok(b) => b,
                        Err(SplitError::Invalid(p)) => {
                            let why = p.source.as_ref().map_or(p.reason.clone(), |s| s.to_string());
                            self.warnings.push(format!(
                                "{where_}: kept inline, unchanged: not valid on its own ({why})"
                            ));
                            // Not a blob: one that needs its parent (an outer
                            // alias) would be invalid to anyone who fetched it.
                            out.section(&raw);
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    if inner.len() < self.opts.min_size {
                        out.section(&RawSection { id: 4, data: &inner });
                        continue;
                    }
                    self.replace(
                        &mut out,
                        &types,
                        Kind::Component,
                        index,
                        &inner,
                        &where_,
                        &mut shifts,
                        &mut imported,
                    )?;
                }
                payload => {
                    shifts.defined(&defined);
                    if shifts.any() {
                        let mut shifter = Shifter {
                            shifts: &shifts,
                            depth: 0,
                        };
                        shifter
                            .parse_component_payload(&mut out, payload, bytes)
                            .map_err(|e| {
                                let mut p = Problem::new(path, "section", e.to_string()).because("invalid");
                                p.item = None;
                                p.offset = Some(s.range.start as u64);
                                SplitError::Invalid(Box::new(p))
                            })?;
                    } else {
                        out.section(&raw);
                    }
                }
            }
        }
        Ok(out.finish())
    }

    /// Stores `child` and puts its import (or an alias of an earlier import
    /// of the same bytes) where it stood.
    #[allow(clippy::too_many_arguments)]
    fn replace(
        &mut self,
        out: &mut wasm_encoder::Component,
        types: &Types,
        kind: Kind,
        index: u32,
        child: &[u8],
        path: &str,
        shifts: &mut Shifts,
        imported: &mut HashMap<Digest, (Kind, u32)>,
    ) -> Result<(), SplitError> {
        let digest = sha256(child);
        if let Some(&(k, first)) = imported.get(&digest) {
            if k == kind {
                let mut aliases = ComponentAliasSection::new();
                aliases.alias(Alias::Outer {
                    kind: match kind {
                        Kind::Module => ComponentOuterAliasKind::CoreModule,
                        Kind::Component => ComponentOuterAliasKind::Component,
                    },
                    count: 0,
                    index: first,
                });
                out.section(&aliases);
                self.record(digest, child, kind, path, false);
                return Ok(());
            }
        }
        let mut enc = TypeEncoder::new(types);
        let mut ins = Insert {
            core_next: shifts.core.len() as u32 + shifts.inserted_core,
            type_next: shifts.comp.len() as u32 + shifts.inserted_comp,
            core: CoreTypeSection::new(),
            types: ComponentTypeSection::new(),
        };
        let encoded = match kind {
            Kind::Module => enc
                .module(&mut ins, types.module_at(index))
                .map(ComponentTypeRef::Module),
            Kind::Component => enc
                .any_type(&mut ins, ComponentAnyTypeId::Component(types.component_at(index)))
                .map(ComponentTypeRef::Component),
        };
        let ty = match encoded {
            Ok(ty) => ty,
            Err(e) => {
                // Nothing was written for it: keep it where it is.
                self.warnings
                    .push(format!("{path}: kept inline: its type cannot be declared ({e})"));
                out.section(&RawSection {
                    id: if kind == Kind::Module { 1 } else { 4 },
                    data: child,
                });
                return Ok(());
            }
        };
        let (_, new) = self.store.put(child)?;
        self.record(digest, child, kind, path, new);
        let added_core = ins.core_next - (shifts.core.len() as u32 + shifts.inserted_core);
        let added_comp = ins.type_next - (shifts.comp.len() as u32 + shifts.inserted_comp);
        if added_core > 0 {
            out.section(&ins.core);
        }
        if added_comp > 0 {
            out.section(&ins.types);
        }
        shifts.inserted_core += added_core;
        shifts.inserted_comp += added_comp;
        let name = canonical_hash_name(&digest);
        let id = oci_digest(&digest);
        let mut imports = ComponentImportSection::new();
        imports.import(
            ComponentExternName {
                name: name.as_str().into(),
                implements: None,
                version_suffix: None,
                external_id: Some(id.as_str().into()),
            },
            ty,
        );
        out.section(&imports);
        imported.insert(digest, (kind, index));
        Ok(())
    }
}
