//! Writes the composed component.
//!
//! Layout: each distinct child once, byte for byte, as a nested component;
//! then, child by child in instantiation order, the imports of the result it
//! is the first to need (declared afresh from the validator's types), the
//! aliases of the provider exports it takes, and its instantiation; last, the
//! exports. An import several children share is imported once, with the
//! union of what they use of it: two children importing different functions
//! of `wasi:io/streams` get one import declaring both, and their resources
//! are one resource.

use std::collections::{HashMap, HashSet};

use indexmap::IndexMap;
use wasm_encoder::{ComponentBuilder, ComponentExportKind, ComponentTypeRef};
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentDefinedType, ComponentEntityType, ComponentType, ResourceId,
};
use weld_format::names::{match_key, version_of};

use weld_format::{ContentId, InputId};

use super::wire::{Children, Kind, Source, Wiring};
use crate::error::{BadExportReason, ComposeError};
use weld_format::type_encode::TypeEncoder;

/// An import of the composed component, shared by the children that need it.
struct Group<'a> {
    /// The name it is imported under.
    name: String,
    /// `(child, import position)` of every child import it stands for.
    members: Vec<(InputId, usize)>,
    /// For instance imports: the union of the members' exports, by name,
    /// each from the first member that has it.
    union: IndexMap<std::borrow::Cow<'a, str>, ComponentEntityType>,
    /// What it is imported as (every member agrees; an instance when a
    /// member takes one of its exports).
    kind: Kind,
    /// Its index once emitted.
    index: Option<u32>,
}

/// What was written, for error reports.
pub struct Emitted {
    /// The component.
    pub bytes: Vec<u8>,
    /// The child of each instantiation, in output order.
    pub instantiated: Vec<InputId>,
    /// The child (first of its content) of each embedded component, in order.
    pub embedded: Vec<InputId>,
    /// For each child and import, where its argument came from (for reports).
    pub outer_names: HashMap<(InputId, usize), String>,
    /// The imports of the result.
    pub imports: Vec<String>,
}

fn resource_of(types: &wasmparser::types::Types, ty: &ComponentEntityType) -> Option<ResourceId> {
    match ty {
        ComponentEntityType::Type { referenced, .. } => {
            match weld_format::type_encode::peel(types, *referenced) {
                ComponentAnyTypeId::Resource(r) => Some(r.resource()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Every resource the types of `ty` mention (own, borrow, and the
/// resources of nested types), each once, in first-mention order.
fn resources_used(types: &wasmparser::types::Types, ty: &ComponentEntityType) -> Vec<ResourceId> {
    use wasmparser::component_types::{ComponentDefinedTypeId, ComponentValType};
    fn val(
        types: &wasmparser::types::Types,
        v: &ComponentValType,
        out: &mut Vec<ResourceId>,
        seen: &mut HashSet<ComponentDefinedTypeId>,
    ) {
        if let ComponentValType::Type(t) = v {
            defined(types, *t, out, seen);
        }
    }
    fn defined(
        types: &wasmparser::types::Types,
        t: ComponentDefinedTypeId,
        out: &mut Vec<ResourceId>,
        seen: &mut HashSet<ComponentDefinedTypeId>,
    ) {
        if !seen.insert(t) {
            return;
        }
        let add = |r: ResourceId, out: &mut Vec<ResourceId>| {
            if !out.contains(&r) {
                out.push(r);
            }
        };
        match &types[t] {
            ComponentDefinedType::Own(r) | ComponentDefinedType::Borrow(r) => add(r.resource(), out),
            ComponentDefinedType::Record(r) => r.fields.values().for_each(|f| val(types, f, out, seen)),
            ComponentDefinedType::Variant(v) => v
                .cases
                .values()
                .filter_map(|c| c.ty.as_ref())
                .for_each(|f| val(types, f, out, seen)),
            ComponentDefinedType::Tuple(t) => t.types.iter().for_each(|f| val(types, f, out, seen)),
            ComponentDefinedType::List { element, .. }
            | ComponentDefinedType::FixedLengthList { element, .. } => val(types, element, out, seen),
            ComponentDefinedType::Map { key, value, .. } => {
                val(types, key, out, seen);
                val(types, value, out, seen);
            }
            ComponentDefinedType::Option { ty, .. } => val(types, ty, out, seen),
            ComponentDefinedType::Result { ok, err, .. } => {
                ok.iter().chain(err.iter()).for_each(|f| val(types, f, out, seen))
            }
            ComponentDefinedType::Future { ty, .. } | ComponentDefinedType::Stream { ty, .. } => {
                ty.iter().for_each(|f| val(types, f, out, seen))
            }
            ComponentDefinedType::Primitive(_)
            | ComponentDefinedType::Flags(_)
            | ComponentDefinedType::Enum(_) => {}
        }
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    match ty {
        ComponentEntityType::Func(f) => {
            let f = &types[*f];
            f.params
                .iter()
                .for_each(|(_, p)| val(types, p, &mut out, &mut seen));
            f.result.iter().for_each(|r| val(types, r, &mut out, &mut seen));
        }
        ComponentEntityType::Value(v) => val(types, v, &mut out, &mut seen),
        ComponentEntityType::Type { referenced, .. } => {
            match weld_format::type_encode::peel(types, *referenced) {
                ComponentAnyTypeId::Resource(r) => out.push(r.resource()),
                ComponentAnyTypeId::Defined(t) => defined(types, t, &mut out, &mut seen),
                _ => {}
            }
        }
        ComponentEntityType::Instance(i) => {
            for e in types[*i].exports.values() {
                for r in resources_used(types, &e.ty) {
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
            }
        }
        ComponentEntityType::Module(_) | ComponentEntityType::Component(_) => {}
    }
    out
}

/// The exports of an instance-typed entity, in order.
fn instance_exports<'t>(
    types: &'t wasmparser::types::Types,
    ty: &ComponentEntityType,
) -> Vec<(&'t str, ComponentEntityType)> {
    match ty {
        ComponentEntityType::Instance(i) => types[*i]
            .exports
            .iter()
            .map(|(n, it)| (n.as_str(), it.ty))
            .collect(),
        _ => Vec::new(),
    }
}

/// Aliases an export of an instance, without a debug name (the names
/// section keeps children and instances only; alias names would double it).
fn alias(b: &mut ComponentBuilder, instance: u32, name: &str, kind: ComponentExportKind) -> u32 {
    b.alias(None, wasm_encoder::Alias::InstanceExport { instance, kind, name })
}

/// One more export of the result: `child`'s export `export` (or, when
/// `export` is `None`, its whole instance), as `as_name`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraExport {
    /// The child.
    pub child: InputId,
    /// The child's export (its real name); `None`: the child's instance.
    pub export: Option<String>,
    /// The name in the result.
    pub as_name: String,
}

/// What the result exports and the order of its declared imports.
#[derive(Debug, Default)]
pub struct Shape<'x> {
    /// The child whose exports are all re-exported (the plug form's root).
    pub root: Option<InputId>,
    /// More exports, after the root's.
    pub exports: &'x [ExtraExport],
    /// Imports of the result declared first, in this order (a WAC
    /// document's `import` statements); the others follow as the children
    /// first need them.
    pub first_imports: &'x [String],
}

/// The writer's state: the component being built, the type encoder, and
/// the imports of the result.
struct Writer<'x, 'a, 't, F: Fn(InputId, usize) -> ComponentEntityType> {
    b: ComponentBuilder,
    enc: TypeEncoder<'t>,
    /// The result's imports, emitted or not yet.
    groups: Vec<Group<'a>>,
    /// Which group each unwired `(child, import)` belongs to.
    group_of: HashMap<(InputId, usize), usize>,
    /// Which group introduces each resource (canonical).
    introduced_by: HashMap<ResourceId, usize>,
    /// The names of the result's imports, in the order emitted.
    imports: Vec<String>,
    children: &'x Children<'a>,
    /// The validator's type of each child, when it was probed.
    tys: &'x [Option<&'t ComponentType>],
    import_ty: &'x F,
}

impl<F: Fn(InputId, usize) -> ComponentEntityType> Writer<'_, '_, '_, F> {
    /// The index of import group `g`, emitting it first if needed, after
    /// the groups that introduce the resources it uses (`path`: the groups
    /// being emitted, against a loop).
    fn import_group(&mut self, g: usize, path: &mut Vec<usize>) -> Result<u32, ComposeError> {
        if let Some(at) = self.groups[g].index {
            return Ok(at);
        }
        let (c, k) = self.groups[g].members[0];
        let item = (self.import_ty)(c, k);
        let is_instance = self.groups[g].kind == Kind::Instance;
        let types = self.enc.types();
        // The resources its types use that another import introduces.
        path.push(g);
        let used: Vec<ResourceId> = match item {
            _ if is_instance => {
                let own: Vec<ResourceId> = self.groups[g]
                    .union
                    .values()
                    .filter_map(|t| resource_of(types, t))
                    .map(|r| self.enc.canonical_resource(r))
                    .collect();
                let mut used = Vec::new();
                for t in self.groups[g].union.values() {
                    if resource_of(types, t).is_some() {
                        continue;
                    }
                    used.extend(resources_used(types, t));
                }
                used.into_iter()
                    .map(|r| self.enc.canonical_resource(r))
                    .filter(|r| !own.contains(r))
                    .collect()
            }
            other => resources_used(types, &other),
        };
        for r in used {
            if self.enc.resource_index(r).is_some() {
                continue;
            }
            if let Some(&dep) = self.introduced_by.get(&self.enc.canonical_resource(r)) {
                if dep != g && !path.contains(&dep) {
                    self.import_group(dep, path)?;
                }
            }
        }
        path.pop();
        let child = &self.children[c];
        let name = child.imports.get_index(k).map(|(n, _)| *n).unwrap_or("");
        let encode_err = |source| ComposeError::Encode {
            input: child.name.to_string(),
            import: name.to_string(),
            source,
        };
        let group = &mut self.groups[g];
        let at = if is_instance {
            let union: Vec<(&str, ComponentEntityType)> =
                group.union.iter().map(|(n, t)| (n.as_ref(), *t)).collect();
            let t = self.enc.instance_of(&mut self.b, &union).map_err(encode_err)?;
            let at = self.b.import(group.name.as_str(), ComponentTypeRef::Instance(t));
            self.enc.bind_exported_types_of(&mut self.b, at, &union);
            at
        } else {
            let r = self.enc.entity(&mut self.b, item).map_err(encode_err)?;
            let at = self.b.import(group.name.as_str(), r);
            self.enc.bind_top_item(item, at);
            at
        };
        self.imports.push(group.name.clone());
        group.index = Some(at);
        Ok(at)
    }

    /// Instantiates child `c`: first the provider exports it takes (aliased
    /// once per provider export, in `aliased`) and their resources, then the
    /// imports of the result it is the first to need, each after the imports
    /// whose resources its types use. Records the name each outer argument
    /// has in the result in `outer_names`.
    fn instantiate(
        &mut self,
        c: InputId,
        component: u32,
        wiring: &Wiring,
        state: &mut Instances,
    ) -> Result<u32, ComposeError> {
        let children = self.children;
        let child = &children[c];
        let types = self.enc.types();
        let mut args: Vec<(String, ComponentExportKind, u32)> = Vec::with_capacity(child.imports.len());
        // The provider exports, and their resources (which only a probed
        // child's imports of the result can mention).
        for (k, (&name, &kind)) in child.imports.iter().enumerate() {
            let Source::Wire { provider, export, .. } = &wiring.sources(c)[k] else {
                continue;
            };
            let kind = kind.export_kind();
            let b = &mut self.b;
            let at = *state
                .aliased
                .entry((*provider, export.clone()))
                .or_insert_with(|| alias(b, state.instance_of[provider], export, kind));
            if self.tys[c.as_usize()].is_some() {
                for (rname, ty) in instance_exports(types, &(self.import_ty)(c, k)) {
                    if let Some(r) = resource_of(types, &ty) {
                        if self.enc.resource_index(r).is_none() {
                            let t = alias(&mut self.b, at, rname, ComponentExportKind::Type);
                            self.enc.bind_resource(r, t);
                        }
                    }
                }
            }
            args.push((name.to_string(), kind, at));
        }
        // Whole instances of other children.
        for (k, &name) in child.imports.keys().enumerate() {
            if let Source::Instance { provider } = &wiring.sources(c)[k] {
                args.push((
                    name.to_string(),
                    ComponentExportKind::Instance,
                    state.instance_of[provider],
                ));
            }
        }
        // The imports of the result.
        for (k, (&name, &kind)) in child.imports.iter().enumerate() {
            let Some(&g) = self.group_of.get(&(c, k)) else {
                continue;
            };
            let mut at = self.import_group(g, &mut Vec::new())?;
            state.outer_names.insert((c, k), self.groups[g].name.clone());
            if let Source::OuterExport { export, .. } = &wiring.sources(c)[k] {
                let b = &mut self.b;
                at = *state
                    .aliased_outer
                    .entry((g, export.clone()))
                    .or_insert_with(|| alias(b, at, export, kind.export_kind()));
            }
            args.push((name.to_string(), kind.export_kind(), at));
        }
        // Arguments in the child's import order.
        args.sort_by_key(|(n, _, _)| child.imports.get_index_of(n.as_str()));
        let at = self.b.instantiate(Some(child.name), component, args);
        state.instance_of.insert(c, at);
        Ok(at)
    }
}

/// The instances made so far.
#[derive(Default)]
struct Instances {
    /// Each instantiated child's instance.
    instance_of: HashMap<InputId, u32>,
    /// Provider exports already aliased: `(provider, export)` → index.
    aliased: HashMap<(InputId, String), u32>,
    /// Exports of imports of the result already aliased: `(group,
    /// export)` → index.
    aliased_outer: HashMap<(usize, String), u32>,
    /// For each child and import of the result, its name in the result.
    outer_names: HashMap<(InputId, usize), String>,
}

/// The imports of the result: every unwired import of an instantiated
/// child, grouped by name and semver track (the highest version names the
/// group; an instance group's exports are the union of its members').
/// Returns the groups and each `(child, import)`'s group.
#[allow(clippy::type_complexity)]
fn group_imports<'a>(
    types: &'a wasmparser::types::Types,
    children: &Children<'a>,
    wiring: &Wiring,
    import_ty: &impl Fn(InputId, usize) -> ComponentEntityType,
    enc: &mut TypeEncoder<'_>,
) -> Result<(Vec<Group<'a>>, HashMap<(InputId, usize), usize>), ComposeError> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut group_of: HashMap<(InputId, usize), usize> = HashMap::new();
    let mut by_key: HashMap<(String, Option<weld_format::names::Track>), usize> = HashMap::new();
    for &c in &wiring.order {
        for (k, (&own_name, &own_kind)) in children[c].imports.iter().enumerate() {
            // The import of the result, what it is imported as, and the
            // exports this member adds to it (an instance's).
            #[allow(clippy::type_complexity)]
            let (name, kind, exports): (
                &str,
                Kind,
                Vec<(std::borrow::Cow<'a, str>, ComponentEntityType)>,
            ) = match &wiring.sources(c)[k] {
                Source::Outer(renamed) => (
                    renamed.as_deref().unwrap_or(own_name),
                    own_kind,
                    instance_exports(types, &import_ty(c, k))
                        .into_iter()
                        .map(|(n, t)| (std::borrow::Cow::Borrowed(n), t))
                        .collect(),
                ),
                Source::OuterExport { import, export } => (
                    import.as_str(),
                    Kind::Instance,
                    vec![(std::borrow::Cow::Owned(export.clone()), import_ty(c, k))],
                ),
                _ => continue,
            };
            let g = *by_key.entry(match_key(name)).or_insert_with(|| {
                groups.push(Group {
                    name: name.to_string(),
                    members: Vec::new(),
                    union: IndexMap::new(),
                    kind,
                    index: None,
                });
                groups.len() - 1
            });
            let group = &mut groups[g];
            if group.kind != kind {
                let (c0, _) = group.members[0];
                return Err(ComposeError::ImportConflict {
                    name: name.to_string(),
                    first: children[c0].name.to_string(),
                    first_kind: group.kind,
                    second: children[c].name.to_string(),
                    second_kind: kind,
                });
            }
            // The highest version names the merged import.
            if let (Some(new), Some(old)) = (version_of(name), version_of(&group.name)) {
                if new > old {
                    group.name = name.to_string();
                }
            }
            for (export, ty) in exports {
                match group.union.get(&export) {
                    None => {
                        group.union.insert(export, ty);
                    }
                    Some(chosen) => {
                        if let (Some(mine), Some(theirs)) =
                            (resource_of(types, &ty), resource_of(types, chosen))
                        {
                            enc.same_resource(mine, theirs);
                        }
                    }
                }
            }
            group.members.push((c, k));
            group_of.insert((c, k), g);
        }
    }
    Ok((groups, group_of))
}

/// Resources reaching a child through a wire are the provider's: one
/// resource per (provider, export, name), whoever imports it.
fn unify_wired_resources(
    types: &wasmparser::types::Types,
    children: &Children<'_>,
    tys: &[Option<&ComponentType>],
    wiring: &Wiring,
    enc: &mut TypeEncoder<'_>,
) {
    let mut wired_resource: HashMap<(InputId, &str, &str), ResourceId> = HashMap::new();
    for &c in &wiring.order {
        let Some(ty) = tys[c.as_usize()] else { continue };
        for (k, (_, item)) in ty.imports.iter().enumerate() {
            let Source::Wire { provider, export, .. } = &wiring.sources(c)[k] else {
                continue;
            };
            for (name, ty) in instance_exports(types, &item.ty) {
                let Some(r) = resource_of(types, &ty) else {
                    continue;
                };
                let export = children[*provider]
                    .exports
                    .get_key_value(export.as_str())
                    .map_or("", |(k, _)| *k);
                match wired_resource.get(&(*provider, export, name)) {
                    Some(&rep) => enc.same_resource(r, rep),
                    None => {
                        wired_resource.insert((*provider, export, name), r);
                    }
                }
            }
        }
    }
}

/// Which result import introduces each resource (a type export of its
/// union), so an import whose types use it comes after it.
fn introducers(
    types: &wasmparser::types::Types,
    groups: &[Group<'_>],
    enc: &TypeEncoder<'_>,
) -> HashMap<ResourceId, usize> {
    let mut introduced_by: HashMap<ResourceId, usize> = HashMap::new();
    for (g, group) in groups.iter().enumerate() {
        for ty in group.union.values() {
            if let Some(r) = resource_of(types, ty) {
                introduced_by.entry(enc.canonical_resource(r)).or_insert(g);
            }
        }
    }
    introduced_by
}

/// Defines the shared core modules, then each distinct child once, in
/// order of first instantiation. Returns each content's component index
/// and the child (first of its content) of each embedded component.
fn embed(
    b: &mut ComponentBuilder,
    hoisted: &[super::hoist::HoistedModule<'_>],
    children: &Children<'_>,
    wiring: &Wiring,
    contents: &[&[u8]],
) -> (HashMap<ContentId, u32>, Vec<InputId>) {
    // The core modules children share, first: module `h` is core module `h`,
    // which the children alias (`alias outer 1 h`).
    for (h, m) in hoisted.iter().enumerate() {
        let at = b.core_module_raw(None, m.bytes);
        debug_assert_eq!(at as usize, h);
    }
    let mut component_of: HashMap<ContentId, u32> = HashMap::new();
    let mut embedded = Vec::new();
    for &c in &wiring.order {
        let content = children[c].content;
        if let std::collections::hash_map::Entry::Vacant(e) = component_of.entry(content) {
            embedded.push(c);
            e.insert(b.component_raw(Some(children[c].name), contents[content.as_usize()]));
        }
    }
    (component_of, embedded)
}

/// Exports the root's exports (when there is a root), then the extra ones;
/// a name exported twice is an error.
fn export_all(
    b: &mut ComponentBuilder,
    children: &Children<'_>,
    instance_of: &HashMap<InputId, u32>,
    root: Option<InputId>,
    exports: &[ExtraExport],
) -> Result<(), ComposeError> {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut wanted: Vec<ExtraExport> = root
        .into_iter()
        .flat_map(|root| {
            children[root].exports.keys().map(move |n| ExtraExport {
                child: root,
                export: Some(n.to_string()),
                as_name: n.to_string(),
            })
        })
        .collect();
    wanted.extend(exports.iter().cloned());
    for ExtraExport {
        child: c,
        export,
        as_name,
    } in wanted
    {
        if let Some(previous) = seen.insert(as_name.clone(), children[c].name.to_string()) {
            return Err(ComposeError::BadExport {
                spec: format!("{}/{}", children[c].name, export.as_deref().unwrap_or("")),
                reason: BadExportReason::Taken {
                    previous,
                    name: as_name,
                },
            });
        }
        let (kind, at) = match &export {
            Some(export) => {
                let kind = children[c].exports[export.as_str()].export_kind();
                (kind, alias(b, instance_of[&c], export, kind))
            }
            None => (ComponentExportKind::Instance, instance_of[&c]),
        };
        b.export(as_name.as_str(), kind, at, None);
    }
    Ok(())
}

/// Builds the composed component. `contents[k]` is the bytes of distinct
/// content `k` (rewritten to alias the `hoisted` modules, defined first),
/// `tys[c]` the validator's type of child `c` when it was probed; `exports`
/// says what is exported and which imports come first.
pub fn emit(
    types: &wasmparser::types::Types,
    children: &Children<'_>,
    tys: &[Option<&ComponentType>],
    contents: &[&[u8]],
    hoisted: &[super::hoist::HoistedModule<'_>],
    wiring: &Wiring,
    shape: &Shape<'_>,
) -> Result<Emitted, ComposeError> {
    // The validator's view of a child's import `k` (children with imports of
    // the result were probed).
    let import_ty = |c: InputId, k: usize| -> ComponentEntityType {
        tys[c.as_usize()]
            .and_then(|t| t.imports.get_index(k))
            .map(|(_, i)| i.ty)
            .expect("probed")
    };
    let mut enc = TypeEncoder::new(types);
    // The result's imports: group every unwired import of an instantiated child.
    let (groups, group_of) = group_imports(types, children, wiring, &import_ty, &mut enc)?;
    unify_wired_resources(types, children, tys, wiring, &mut enc);
    let introduced_by = introducers(types, &groups, &enc);

    let mut b = ComponentBuilder::default();
    let (component_of, embedded) = embed(&mut b, hoisted, children, wiring, contents);
    let mut w = Writer {
        b,
        enc,
        groups,
        group_of,
        introduced_by,
        imports: Vec::new(),
        children,
        tys,
        import_ty: &import_ty,
    };
    // Each child in instantiation order, its arguments made just before it.
    for name in shape.first_imports {
        if let Some(g) = w.groups.iter().position(|g| g.name == *name) {
            w.import_group(g, &mut Vec::new())?;
        }
    }
    let mut state = Instances::default();
    let mut instantiated = Vec::with_capacity(wiring.order.len());
    for &c in &wiring.order {
        w.instantiate(c, component_of[&children[c].content], wiring, &mut state)?;
        instantiated.push(c);
    }
    let Writer { mut b, imports, .. } = w;
    export_all(&mut b, children, &state.instance_of, shape.root, shape.exports)?;
    b.append_names();
    Ok(Emitted {
        bytes: b.finish(),
        instantiated,
        embedded,
        outer_names: state.outer_names,
        imports,
    })
}
