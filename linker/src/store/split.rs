//! `weld split`: nested modules and components → blobs in a store, imported
//! back by canonical hash name (DESIGN §3).
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

use std::collections::HashMap;

use wasm_encoder::reencode::{Error as ReencodeError, Reencode, ReencodeComponent};
use wasm_encoder::{
    Alias, ComponentAliasSection, ComponentCoreTypeEncoder, ComponentExternName, ComponentImportSection,
    ComponentOuterAliasKind, ComponentTypeEncoder, ComponentTypeRef, ComponentTypeSection, CoreTypeSection,
    RawSection,
};
use wasmparser::component_types::ComponentAnyTypeId;
use wasmparser::types::Types;
use wasmparser::{
    ComponentExternalKind, ComponentOuterAliasKind as PKind, ComponentTypeRef as PRef, Payload,
};
use weld_format::names::{canonical_hash_name, oci_digest};

use crate::error::SplitError;
use crate::sections::sections;
use crate::store::Store;
use crate::type_encode::{Decls, TypeEncoder};

/// Options for [`split`].
#[derive(Debug, Clone)]
pub struct SplitOptions {
    /// Children smaller than this stay inline.
    pub min_size: usize,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions { min_size: 1024 }
    }
}

/// One child written to (or found in) the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChild {
    /// Its SHA-256.
    pub digest: [u8; 32],
    /// Its size in bytes.
    pub size: u64,
    /// `module` or `component`.
    pub kind: &'static str,
    /// Where it was, e.g. `app/component 0/module 2`.
    pub path: String,
    /// Whether this call added it (false: the store had it).
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

/// Splits component `bytes` (named `name` in messages) into `store`.
pub fn split(opts: &SplitOptions, name: &str, bytes: &[u8], store: &Store) -> Result<Split, SplitError> {
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
    crate::validate::validate(&root, false).map_err(|e| SplitError::Invalid {
        input: format!("{name} (split root)"),
        message: e.message().to_string(),
        offset: e.offset(),
    })?;
    Ok(Split {
        root,
        children: cx.children,
        warnings: cx.warnings,
    })
}

/// The id and contents of the section at `range` of `bytes`.
pub(crate) fn raw(bytes: &[u8], range: std::ops::Range<usize>) -> RawSection<'_> {
    let id = bytes[range.start];
    let mut reader = wasmparser::BinaryReader::new(&bytes[range.start + 1..range.end], 0);
    let _ = reader.read_var_u32();
    let header = 1 + reader.original_position() as usize;
    RawSection {
        id,
        data: &bytes[range.start + header..range.end],
    }
}

struct Cx<'a> {
    opts: &'a SplitOptions,
    store: &'a Store,
    children: Vec<StoredChild>,
    warnings: Vec<String>,
}

/// Type definitions inserted so far, and the shift each original type got.
#[derive(Default)]
pub(crate) struct Shifts {
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
    fn core_defined(&mut self, n: u32) {
        self.core
            .extend(std::iter::repeat_n(self.inserted_core, n as usize));
    }
    fn comp_defined(&mut self, n: u32) {
        self.comp
            .extend(std::iter::repeat_n(self.inserted_comp, n as usize));
    }
}

/// Counts what a section defines in the spaces split cares about.
pub(crate) fn count_defs(
    payload: &Payload<'_>,
    shifts: &mut Shifts,
    modules: &mut u32,
    components: &mut u32,
) {
    match payload {
        Payload::CoreTypeSection(r) => shifts.core_defined(r.count()),
        Payload::ComponentTypeSection(r) => shifts.comp_defined(r.count()),
        Payload::ComponentImportSection(r) => {
            for i in r.clone().into_iter().flatten() {
                match i.ty {
                    PRef::Module(_) => *modules += 1,
                    PRef::Component(_) => *components += 1,
                    PRef::Type(_) => shifts.comp_defined(1),
                    _ => {}
                }
            }
        }
        Payload::ComponentExportSection(r) => {
            for e in r.clone().into_iter().flatten() {
                match e.kind {
                    ComponentExternalKind::Type => shifts.comp_defined(1),
                    ComponentExternalKind::Module => *modules += 1,
                    ComponentExternalKind::Component => *components += 1,
                    _ => {}
                }
            }
        }
        Payload::ComponentAliasSection(r) => {
            for a in r.clone().into_iter().flatten() {
                match a {
                    wasmparser::ComponentAlias::InstanceExport { kind, .. } => match kind {
                        ComponentExternalKind::Type => shifts.comp_defined(1),
                        ComponentExternalKind::Module => *modules += 1,
                        ComponentExternalKind::Component => *components += 1,
                        _ => {}
                    },
                    wasmparser::ComponentAlias::Outer { kind, .. } => match kind {
                        PKind::CoreModule => *modules += 1,
                        PKind::CoreType => shifts.core_defined(1),
                        PKind::Type => shifts.comp_defined(1),
                        PKind::Component => *components += 1,
                    },
                    wasmparser::ComponentAlias::CoreInstanceExport { .. } => {}
                }
            }
        }
        _ => {}
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
    fn record(&mut self, digest: [u8; 32], child: &[u8], kind: Kind, path: &str, new: bool) {
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
        let invalid = |e: wasmparser::BinaryReaderError| SplitError::Invalid {
            input: path.to_string(),
            message: e.message().to_string(),
            offset: e.offset(),
        };
        let types = crate::validate::validate(bytes, false).map_err(invalid)?;
        let secs = sections(bytes).map_err(invalid)?;
        let mut shifts = Shifts::default();
        let mut out = wasm_encoder::Component::new();
        let (mut modules, mut components) = (0u32, 0u32);
        // Digest → (kind, index) of the import already made in this component.
        let mut imported: HashMap<[u8; 32], (Kind, u32)> = HashMap::new();
        for s in secs {
            let nested = s.nested();
            match s.payload {
                Payload::ModuleSection { .. } => {
                    let index = modules;
                    modules += 1;
                    let child = &bytes[nested.expect("a nested module")];
                    if child.len() < self.opts.min_size {
                        out.section(&raw(bytes, s.range.clone()));
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
                    let index = components;
                    components += 1;
                    let child = &bytes[nested.expect("a nested component")];
                    let where_ = format!("{path}/component {index}");
                    let inner = match self.component(child, &where_) {
                        Ok(b) => b,
                        Err(SplitError::Invalid { message, .. }) => {
                            self.warnings.push(format!(
                                "{where_}: kept inline, unchanged: not valid on its own ({message})"
                            ));
                            child.to_vec()
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
                    count_defs(&payload, &mut shifts, &mut modules, &mut components);
                    if shifts.any() {
                        let mut shifter = Shifter {
                            shifts: &shifts,
                            depth: 0,
                        };
                        shifter
                            .parse_component_payload(&mut out, payload, bytes)
                            .map_err(|e| SplitError::Invalid {
                                input: path.to_string(),
                                message: e.to_string(),
                                offset: s.range.start as u64,
                            })?;
                    } else {
                        out.section(&raw(bytes, s.range.clone()));
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
        imported: &mut HashMap<[u8; 32], (Kind, u32)>,
    ) -> Result<(), SplitError> {
        let digest = weld_format::digest::sha256(child);
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
