//! Validator types → binary type declarations.
//!
//! Composition (and split) must write, in a *new* component, the type of an
//! import some child declared: an instance type with its functions, records,
//! variants and resources. The child's own binary declares that type in its
//! own index spaces, so the bytes cannot be copied; instead the type is read
//! from wasmparser's validator ([`Types`]) and written afresh with
//! wasm-encoder.
//!
//! **Scopes.** A declaration lives in a *scope*: the component being built,
//! or an instance/component type declaration nested in it. Each scope keeps
//! what it has already declared, keyed by the validator's type id with
//! aliases peeled, so one type is declared once per scope. A type a scope
//! lacks is looked up in the enclosing scopes and brought in with
//! `alias outer`; a structural type found nowhere is declared on the spot.
//!
//! **Resources** have identity, so they are never re-declared: a resource is
//! bound to an index where it is introduced (an import or export of
//! `(sub resource)`, or an alias of an instance's type export), and every
//! later use refers to that index. [`TypeEncoder::same_resource`] lets a
//! caller declare two resources (from two children's views of one import)
//! the same.

use std::collections::{HashMap, HashSet};

use wasm_encoder::{
    Alias, ComponentBuilder, ComponentCoreTypeEncoder, ComponentExportKind, ComponentOuterAliasKind,
    ComponentTypeEncoder, ComponentTypeRef, ComponentValType as EncValType, TypeBounds,
};
use wasmparser::component_types::{
    ComponentAnyTypeId, ComponentCoreModuleTypeId, ComponentDefinedType, ComponentEntityType,
    ComponentFuncTypeId, ComponentInstanceTypeId, ComponentTypeId, ComponentValType, ResourceId,
};
use wasmparser::types::{EntityType, Types};

/// A type that cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeEncodeError {
    /// A resource is used where nothing introduced it.
    #[error("uses a resource that nothing in scope introduces (export `{0}`)")]
    UnboundResource(String),
    /// A core type weld cannot restate (GC types with type references).
    #[error("core type not supported in a module type: {0}")]
    UnsupportedCore(String),
}

/// Something types can be declared in: the component being built, or an
/// instance or component type declaration.
pub trait Decls {
    /// Declares a type; returns its index and the encoder to fill in.
    fn new_type(&mut self) -> (u32, ComponentTypeEncoder<'_>);
    /// Declares a core type; returns its index and the encoder to fill in.
    fn new_core_type(&mut self) -> (u32, ComponentCoreTypeEncoder<'_>);
    /// Adds an alias; returns the index it gets in its space.
    fn add_alias(&mut self, alias: Alias<'_>) -> u32;
    /// Adds an export of a type declaration; returns the index it gets when
    /// it is a type or an instance.
    fn add_export(&mut self, name: &str, ty: ComponentTypeRef) -> u32;
}

impl Decls for ComponentBuilder {
    fn new_type(&mut self) -> (u32, ComponentTypeEncoder<'_>) {
        self.ty(None)
    }
    fn new_core_type(&mut self) -> (u32, ComponentCoreTypeEncoder<'_>) {
        self.core_type(None)
    }
    fn add_alias(&mut self, alias: Alias<'_>) -> u32 {
        self.alias(None, alias)
    }
    fn add_export(&mut self, _name: &str, _ty: ComponentTypeRef) -> u32 {
        unreachable!("the component builder exports items, not types")
    }
}

macro_rules! decls_for_type_decl {
    ($t:ty) => {
        impl Decls for $t {
            fn new_type(&mut self) -> (u32, ComponentTypeEncoder<'_>) {
                let at = <$t>::type_count(self);
                (at, self.ty())
            }
            fn new_core_type(&mut self) -> (u32, ComponentCoreTypeEncoder<'_>) {
                let at = <$t>::core_type_count(self);
                (at, self.core_type())
            }
            fn add_alias(&mut self, alias: Alias<'_>) -> u32 {
                let (types, instances) = (<$t>::type_count(self), <$t>::instance_count(self));
                let is_instance = matches!(
                    alias,
                    Alias::InstanceExport {
                        kind: ComponentExportKind::Instance,
                        ..
                    }
                );
                self.alias(alias);
                if is_instance {
                    instances
                } else {
                    types
                }
            }
            fn add_export(&mut self, name: &str, ty: ComponentTypeRef) -> u32 {
                let at = match ty {
                    ComponentTypeRef::Instance(_) => <$t>::instance_count(self),
                    _ => <$t>::type_count(self),
                };
                self.export(name, ty);
                at
            }
        }
    };
}
decls_for_type_decl!(wasm_encoder::InstanceType);
decls_for_type_decl!(wasm_encoder::ComponentType);

/// What one scope has declared.
#[derive(Default)]
struct Scope {
    /// Non-resource types, by peeled id.
    types: HashMap<ComponentAnyTypeId, u32>,
    /// Resources, by identity.
    resources: HashMap<ResourceId, u32>,
    /// Core module types, by id.
    modules: HashMap<ComponentCoreModuleTypeId, u32>,
    /// Types bound to a name (top scope only).
    named: HashSet<Key>,
    /// Resources and named types by the exact (unpeeled) id a name gave
    /// them: a reference through the same alias finds the same name, so a
    /// re-exported resource or type keeps the provenance the source had
    /// (`use left.{t}` stays that, not `use diamond-base.{t}`).
    exact: HashMap<ComponentAnyTypeId, u32>,
}

/// Writes validator types as declarations. The bottom scope is the component
/// being built; it lives as long as the encoder.
pub struct TypeEncoder<'t> {
    types: &'t Types,
    scopes: Vec<Scope>,
    /// Resources declared equal to another (see [`Self::same_resource`]).
    canon: HashMap<ResourceId, ResourceId>,
}

impl std::fmt::Debug for TypeEncoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeEncoder")
            .field("scopes", &self.scopes.len())
            .field("canon", &self.canon.len())
            .finish_non_exhaustive()
    }
}

impl<'t> TypeEncoder<'t> {
    /// An encoder for types of `types`, with an empty top scope.
    pub fn new(types: &'t Types) -> Self {
        TypeEncoder {
            types,
            scopes: vec![Scope::default()],
            canon: HashMap::new(),
        }
    }

    /// From now on, treats resource `alias` as `of` (both are views of one
    /// resource, e.g. two children importing the same interface).
    pub fn same_resource(&mut self, alias: ResourceId, of: ResourceId) {
        let of = self.canonical(of);
        if alias != of {
            self.canon.insert(alias, of);
        }
    }

    /// The validator's types this encoder writes.
    pub fn types(&self) -> &'t Types {
        self.types
    }

    /// The resource `r` is treated as (see [`Self::same_resource`]).
    pub fn canonical_resource(&self, r: ResourceId) -> ResourceId {
        self.canonical(r)
    }

    fn canonical(&self, mut r: ResourceId) -> ResourceId {
        while let Some(&next) = self.canon.get(&r) {
            r = next;
        }
        r
    }

    /// Binds resource `r` to type index `index` of the top scope.
    pub fn bind_resource(&mut self, r: ResourceId, index: u32) {
        let r = self.canonical(r);
        self.scopes[0].resources.insert(r, index);
    }

    /// The top-scope index of resource `r`, if bound.
    pub fn resource_index(&self, r: ResourceId) -> Option<u32> {
        self.scopes[0].resources.get(&self.canonical(r)).copied()
    }

    fn peel(&self, id: ComponentAnyTypeId) -> ComponentAnyTypeId {
        peel(self.types, id)
    }

    /// Looks a type up in the current scope, then outward; a hit outside is
    /// aliased into the current scope.
    fn lookup<D: Decls>(&mut self, d: &mut D, key: Key) -> Option<u32> {
        let top = self.scopes.len() - 1;
        for depth in 0..=top {
            let scope = &self.scopes[top - depth];
            let found = match key {
                Key::Type(id) => scope.types.get(&id).copied(),
                Key::Resource(r) => scope.resources.get(&r).copied(),
            };
            let Some(index) = found else { continue };
            let local = outer(d, depth, index);
            if depth > 0 {
                let scope = &mut self.scopes[top];
                match key {
                    Key::Type(id) => scope.types.insert(id, local),
                    Key::Resource(r) => scope.resources.insert(r, local),
                };
            }
            return Some(local);
        }
        None
    }

    /// Looks a resource up by the exact ids along its alias chain (see
    /// `Scope::exact`), innermost scope first at each step; otherwise by
    /// identity.
    fn lookup_resource<D: Decls>(&mut self, d: &mut D, id: ComponentAnyTypeId) -> Option<u32> {
        if let Some(i) = self.lookup_exact(d, id) {
            return Some(i);
        }
        let key = self.key(id);
        self.lookup(d, key)
    }

    /// A type export bound by its exact id along `id`'s alias chain (see
    /// `Scope::exact`), innermost scope first at each step.
    fn lookup_exact<D: Decls>(&mut self, d: &mut D, id: ComponentAnyTypeId) -> Option<u32> {
        let top = self.scopes.len() - 1;
        let mut step = Some(id);
        while let Some(at) = step {
            for depth in 0..=top {
                let Some(&index) = self.scopes[top - depth].exact.get(&at) else {
                    continue;
                };
                let local = outer(d, depth, index);
                if depth > 0 {
                    self.scopes[top].exact.insert(at, local);
                }
                return Some(local);
            }
            step = self.types.peel_alias(at);
        }
        None
    }

    fn remember(&mut self, key: Key, index: u32) {
        let scope = self.scopes.last_mut().expect("a scope");
        match key {
            Key::Type(id) => scope.types.insert(id, index),
            Key::Resource(r) => scope.resources.insert(r, index),
        };
    }

    /// Records the name an imported or exported type item gives a type. In
    /// a declaration the latest name is the local one; at the top, the first
    /// name wins over an anonymous definition and over later names: it is the
    /// import that introduced the type (where WIT says it is defined), and
    /// later imports only re-export it.
    fn remember_name(&mut self, key: Key, index: u32) {
        if self.scopes.len() > 1 {
            return self.remember(key, index);
        }
        if self.scopes[0].named.insert(key) {
            self.remember(key, index);
        }
    }

    fn key(&self, id: ComponentAnyTypeId) -> Key {
        match self.peel(id) {
            ComponentAnyTypeId::Resource(r) => Key::Resource(self.canonical(r.resource())),
            other => Key::Type(other),
        }
    }

    /// The index of type `id` in `d`'s scope, declaring it if needed.
    pub fn any_type<D: Decls>(&mut self, d: &mut D, id: ComponentAnyTypeId) -> Result<u32, TypeEncodeError> {
        let key = self.key(id);
        let found = match key {
            Key::Resource(_) => self.lookup_resource(d, id),
            Key::Type(_) => self.lookup(d, key),
        };
        if let Some(i) = found {
            return Ok(i);
        }
        let index = match self.peel(id) {
            ComponentAnyTypeId::Resource(_) => {
                return Err(TypeEncodeError::UnboundResource(String::new()));
            }
            ComponentAnyTypeId::Defined(t) => self.defined(d, t)?,
            ComponentAnyTypeId::Func(f) => self.func(d, f)?,
            ComponentAnyTypeId::Instance(i) => self.instance(d, i)?,
            ComponentAnyTypeId::Component(c) => self.component(d, c)?,
        };
        self.remember(key, index);
        Ok(index)
    }

    /// A value type as written in `d`'s scope.
    pub fn val<D: Decls>(&mut self, d: &mut D, v: ComponentValType) -> Result<EncValType, TypeEncodeError> {
        Ok(match v {
            ComponentValType::Primitive(p) => EncValType::Primitive(p.into()),
            // Through the index even for a primitive: it may have a name.
            ComponentValType::Type(t) => EncValType::Type(self.any_type(d, ComponentAnyTypeId::Defined(t))?),
        })
    }

    fn opt_val<D: Decls>(
        &mut self,
        d: &mut D,
        v: Option<ComponentValType>,
    ) -> Result<Option<EncValType>, TypeEncodeError> {
        v.map(|v| self.val(d, v)).transpose()
    }

    fn resource<D: Decls>(
        &mut self,
        d: &mut D,
        r: wasmparser::component_types::AliasableResourceId,
    ) -> Result<u32, TypeEncodeError> {
        self.lookup_resource(d, ComponentAnyTypeId::Resource(r))
            .ok_or_else(|| TypeEncodeError::UnboundResource(String::new()))
    }

    fn defined<D: Decls>(
        &mut self,
        d: &mut D,
        id: wasmparser::component_types::ComponentDefinedTypeId,
    ) -> Result<u32, TypeEncodeError> {
        let types = self.types;
        Ok(match &types[id] {
            ComponentDefinedType::Primitive(p) => {
                let (at, enc) = d.new_type();
                enc.defined_type().primitive((*p).into());
                at
            }
            ComponentDefinedType::Record(r) => {
                let fields = r
                    .fields
                    .iter()
                    .map(|(n, t)| Ok((n.as_str(), self.val(d, *t)?)))
                    .collect::<Result<Vec<_>, TypeEncodeError>>()?;
                let (at, enc) = d.new_type();
                enc.defined_type().record(fields);
                at
            }
            ComponentDefinedType::Variant(v) => {
                let cases = v
                    .cases
                    .iter()
                    .map(|(n, c)| Ok((n.as_str(), self.opt_val(d, c.ty)?)))
                    .collect::<Result<Vec<_>, TypeEncodeError>>()?;
                let (at, enc) = d.new_type();
                enc.defined_type().variant(cases);
                at
            }
            ComponentDefinedType::List { element, .. } => {
                let e = self.val(d, *element)?;
                let (at, enc) = d.new_type();
                enc.defined_type().list(e);
                at
            }
            ComponentDefinedType::Map { key, value, .. } => {
                let (k, v) = (self.val(d, *key)?, self.val(d, *value)?);
                let (at, enc) = d.new_type();
                enc.defined_type().map(k, v);
                at
            }
            ComponentDefinedType::FixedLengthList { element, length, .. } => {
                let e = self.val(d, *element)?;
                let (at, enc) = d.new_type();
                enc.defined_type().fixed_length_list(e, *length);
                at
            }
            ComponentDefinedType::Tuple(t) => {
                let items = t
                    .types
                    .iter()
                    .map(|t| self.val(d, *t))
                    .collect::<Result<Vec<_>, _>>()?;
                let (at, enc) = d.new_type();
                enc.defined_type().tuple(items);
                at
            }
            ComponentDefinedType::Flags(names) => {
                let (at, enc) = d.new_type();
                enc.defined_type().flags(names.iter().map(|n| n.as_str()));
                at
            }
            ComponentDefinedType::Enum(names) => {
                let (at, enc) = d.new_type();
                enc.defined_type().enum_type(names.iter().map(|n| n.as_str()));
                at
            }
            ComponentDefinedType::Option { ty, .. } => {
                let t = self.val(d, *ty)?;
                let (at, enc) = d.new_type();
                enc.defined_type().option(t);
                at
            }
            ComponentDefinedType::Result { ok, err, .. } => {
                let (ok, err) = (self.opt_val(d, *ok)?, self.opt_val(d, *err)?);
                let (at, enc) = d.new_type();
                enc.defined_type().result(ok, err);
                at
            }
            ComponentDefinedType::Own(r) => {
                let r = self.resource(d, *r)?;
                let (at, enc) = d.new_type();
                enc.defined_type().own(r);
                at
            }
            ComponentDefinedType::Borrow(r) => {
                let r = self.resource(d, *r)?;
                let (at, enc) = d.new_type();
                enc.defined_type().borrow(r);
                at
            }
            ComponentDefinedType::Future { ty, .. } => {
                let t = self.opt_val(d, *ty)?;
                let (at, enc) = d.new_type();
                enc.defined_type().future(t);
                at
            }
            ComponentDefinedType::Stream { ty, .. } => {
                let t = self.opt_val(d, *ty)?;
                let (at, enc) = d.new_type();
                enc.defined_type().stream(t);
                at
            }
        })
    }

    fn func<D: Decls>(&mut self, d: &mut D, id: ComponentFuncTypeId) -> Result<u32, TypeEncodeError> {
        let f = &self.types[id];
        let params = f
            .params
            .iter()
            .map(|(n, t)| Ok((n.as_str(), self.val(d, *t)?)))
            .collect::<Result<Vec<_>, TypeEncodeError>>()?;
        let result = self.opt_val(d, f.result)?;
        let (at, enc) = d.new_type();
        let mut fe = enc.function();
        fe.async_(f.async_).params(params).result(result);
        Ok(at)
    }

    /// The reference to use for an entity of type `ty` (an import or export)
    /// in `d`'s scope. A type export of a resource not bound anywhere is
    /// introduced here as `(sub resource)`; the caller binds it (see
    /// [`Self::bind_exported_types`]).
    pub fn entity<D: Decls>(
        &mut self,
        d: &mut D,
        ty: ComponentEntityType,
    ) -> Result<ComponentTypeRef, TypeEncodeError> {
        Ok(match ty {
            ComponentEntityType::Module(m) => ComponentTypeRef::Module(self.module(d, m)?),
            ComponentEntityType::Func(f) => {
                ComponentTypeRef::Func(self.any_type(d, ComponentAnyTypeId::Func(f))?)
            }
            ComponentEntityType::Value(v) => ComponentTypeRef::Value(self.val(d, v)?),
            ComponentEntityType::Type { referenced, .. } => {
                let key = self.key(referenced);
                match key {
                    Key::Resource(_) => match self.lookup_resource(d, referenced) {
                        Some(i) => ComponentTypeRef::Type(TypeBounds::Eq(i)),
                        None => ComponentTypeRef::Type(TypeBounds::SubResource),
                    },
                    Key::Type(_) => match self.lookup_exact(d, referenced) {
                        Some(i) => ComponentTypeRef::Type(TypeBounds::Eq(i)),
                        None => ComponentTypeRef::Type(TypeBounds::Eq(self.any_type(d, referenced)?)),
                    },
                }
            }
            ComponentEntityType::Instance(i) => {
                ComponentTypeRef::Instance(self.any_type(d, ComponentAnyTypeId::Instance(i))?)
            }
            ComponentEntityType::Component(c) => {
                ComponentTypeRef::Component(self.any_type(d, ComponentAnyTypeId::Component(c))?)
            }
        })
    }

    /// After an item of type `ty` got index `index` in `d`'s scope (as an
    /// import or export of type kind), records what it names: the type itself
    /// (so later uses refer to the name, as the source did).
    fn bind_type_item(&mut self, ty: ComponentEntityType, index: u32) {
        if let ComponentEntityType::Type { referenced, created } = ty {
            let key = self.key(referenced);
            self.remember_name(key, index);
            if let Key::Resource(_) = key {
                // Only the id this item created: `referenced` is the one it
                // points to, someone else's name.
                let scope = self.scopes.last_mut().expect("a scope");
                scope.exact.insert(created, index);
            }
            if let Key::Type(_) = key {
                // The exact id too: a later `(eq ...)` of this very export
                // (WIT's `use left.{t}`) names it, not another export of the
                // same type (`diamond-base`'s `t`).
                self.scopes
                    .last_mut()
                    .expect("a scope")
                    .exact
                    .insert(created, index);
                let created = self.key(created);
                self.remember_name(created, index);
            }
        }
    }

    /// After instance `instance` of type `ty` became available in `d`'s
    /// scope, aliases each of its type exports, so later declarations refer
    /// to them (resources must; named types then keep their names).
    pub fn bind_exported_types<D: Decls>(&mut self, d: &mut D, instance: u32, ty: ComponentInstanceTypeId) {
        let types = self.types;
        let exports: Vec<(&str, ComponentEntityType)> = types[ty]
            .exports
            .iter()
            .map(|(n, i)| (n.as_str(), i.ty))
            .collect();
        self.bind_exported_types_of(d, instance, &exports);
    }

    fn instance<D: Decls>(&mut self, d: &mut D, id: ComponentInstanceTypeId) -> Result<u32, TypeEncodeError> {
        let types = self.types;
        let exports: Vec<(&str, ComponentEntityType)> = types[id]
            .exports
            .iter()
            .map(|(n, i)| (n.as_str(), i.ty))
            .collect();
        self.instance_of(d, &exports)
    }

    /// Declares an instance type with these exports (in this order), e.g. the
    /// union of several children's views of one import.
    pub fn instance_of<D: Decls>(
        &mut self,
        d: &mut D,
        exports: &[(&str, ComponentEntityType)],
    ) -> Result<u32, TypeEncodeError> {
        let mut it = wasm_encoder::InstanceType::new();
        self.scopes.push(Scope::default());
        let body = (|| {
            for &(name, ty) in exports {
                let r = self.entity(&mut it, ty).map_err(|e| with_name(e, name))?;
                let index = it.add_export(name, r);
                self.bind_type_item(ty, index);
            }
            Ok(())
        })();
        self.scopes.pop();
        body?;
        let (at, enc) = d.new_type();
        enc.instance(&it);
        Ok(at)
    }

    /// Like [`Self::bind_exported_types`] for an instance whose exports are
    /// listed (see [`Self::instance_of`]).
    pub fn bind_exported_types_of<D: Decls>(
        &mut self,
        d: &mut D,
        instance: u32,
        exports: &[(&str, ComponentEntityType)],
    ) {
        for &(name, ty) in exports {
            if let ComponentEntityType::Type { .. } = ty {
                let index = d.add_alias(Alias::InstanceExport {
                    instance,
                    kind: ComponentExportKind::Type,
                    name,
                });
                self.bind_type_item(ty, index);
            }
        }
    }

    fn component<D: Decls>(&mut self, d: &mut D, id: ComponentTypeId) -> Result<u32, TypeEncodeError> {
        let types = self.types;
        let mut ct = wasm_encoder::ComponentType::new();
        self.scopes.push(Scope::default());
        let body = (|| {
            let c = &types[id];
            for (name, item) in c.imports.iter() {
                let r = self.entity(&mut ct, item.ty).map_err(|e| with_name(e, name))?;
                let index = match r {
                    ComponentTypeRef::Instance(_) => ct.instance_count(),
                    _ => ct.type_count(),
                };
                ct.import(name.as_str(), r);
                self.bind_type_item(item.ty, index);
                if let ComponentEntityType::Instance(i) = item.ty {
                    self.bind_exported_types(&mut ct, index, i);
                }
            }
            for (name, item) in c.exports.iter() {
                let r = self.entity(&mut ct, item.ty).map_err(|e| with_name(e, name))?;
                let index = ct.add_export(name, r);
                self.bind_type_item(item.ty, index);
                if let ComponentEntityType::Instance(i) = item.ty {
                    self.bind_exported_types(&mut ct, index, i);
                }
            }
            Ok(())
        })();
        self.scopes.pop();
        body?;
        let (at, enc) = d.new_type();
        enc.component(&ct);
        Ok(at)
    }

    /// A core module type, declared as a core type of `d`'s scope.
    pub fn module<D: Decls>(
        &mut self,
        d: &mut D,
        id: ComponentCoreModuleTypeId,
    ) -> Result<u32, TypeEncodeError> {
        if let Some(&i) = self.scopes.last().and_then(|s| s.modules.get(&id)) {
            return Ok(i);
        }
        let types = self.types;
        let m = &types[id];
        let mut mt = wasm_encoder::ModuleType::new();
        let mut funcs: HashMap<wasmparser::types::CoreTypeId, u32> = HashMap::new();
        let mut entity = |mt: &mut wasm_encoder::ModuleType,
                          e: &EntityType|
         -> Result<wasm_encoder::EntityType, TypeEncodeError> {
            let mut func_type = |mt: &mut wasm_encoder::ModuleType, t: wasmparser::types::CoreTypeId| {
                if let Some(&i) = funcs.get(&t) {
                    return Ok(i);
                }
                let sub = types[t].clone();
                let shown = format!("{sub}");
                // A type in a larger rec group is a different type than the
                // same structure alone; restating groups is not supported.
                let refs = types.as_ref();
                if refs.rec_group_elements(refs.rec_group_id_of(t)).len() != 1 {
                    return Err(TypeEncodeError::UnsupportedCore(format!(
                        "{shown} (in a rec group)"
                    )));
                }
                let enc = wasm_encoder::SubType::try_from(sub)
                    .map_err(|_| TypeEncodeError::UnsupportedCore(shown.clone()))?;
                if enc.composite_type.shared
                    || !matches!(
                        enc.composite_type.inner,
                        wasm_encoder::CompositeInnerType::Func(_)
                    )
                    || !enc.supertype_idxs.is_empty()
                {
                    return Err(TypeEncodeError::UnsupportedCore(shown));
                }
                let at = mt.type_count();
                mt.ty().subtype(&enc);
                funcs.insert(t, at);
                Ok(at)
            };
            Ok(match e {
                EntityType::Func(t) => wasm_encoder::EntityType::Function(func_type(mt, *t)?),
                EntityType::FuncExact(t) => wasm_encoder::EntityType::FunctionExact(func_type(mt, *t)?),
                EntityType::Tag(t) => wasm_encoder::EntityType::Tag(wasm_encoder::TagType {
                    kind: wasm_encoder::TagKind::Exception,
                    func_type_idx: func_type(mt, *t)?,
                }),
                EntityType::Table(t) => {
                    wasm_encoder::EntityType::Table(wasm_encoder::TableType::try_from(*t).map_err(|_| {
                        TypeEncodeError::UnsupportedCore(format!("{}", crate::wat::Wat(t.element_type)))
                    })?)
                }
                EntityType::Memory(m) => wasm_encoder::EntityType::Memory((*m).into()),
                EntityType::Global(g) => {
                    wasm_encoder::EntityType::Global(wasm_encoder::GlobalType::try_from(*g).map_err(
                        |_| TypeEncodeError::UnsupportedCore(format!("{}", crate::wat::Wat(g.content_type))),
                    )?)
                }
            })
        };
        for ((module, name), e) in m.imports.iter() {
            let e = entity(&mut mt, e)?;
            mt.import(module, name, e);
        }
        for (name, e) in m.exports.iter() {
            // The validator records exports of defined functions as exact
            // (custom descriptors); declaring them inexact is a supertype
            // and needs no proposal.
            let e = match e {
                EntityType::FuncExact(t) => EntityType::Func(*t),
                e => *e,
            };
            let e = entity(&mut mt, &e)?;
            mt.export(name, e);
        }
        let (at, enc) = d.new_core_type();
        enc.module(&mt);
        if let Some(s) = self.scopes.last_mut() {
            s.modules.insert(id, at);
        }
        Ok(at)
    }

    /// Records that the item just imported or exported at the top scope
    /// with type `ty` got index `index` (for type items; a no-op otherwise).
    pub fn bind_top_item(&mut self, ty: ComponentEntityType, index: u32) {
        self.bind_type_item(ty, index);
    }
}

/// Type `index` of the scope `depth` levels out, in `d`'s scope: itself at
/// depth 0, else an `alias outer`.
fn outer<D: Decls>(d: &mut D, depth: usize, index: u32) -> u32 {
    if depth == 0 {
        return index;
    }
    d.add_alias(Alias::Outer {
        kind: ComponentOuterAliasKind::Type,
        count: depth as u32,
        index,
    })
}

/// The type `id` is an alias of, through every alias.
pub fn peel(types: &Types, mut id: ComponentAnyTypeId) -> ComponentAnyTypeId {
    while let Some(next) = types.peel_alias(id) {
        id = next;
    }
    id
}

fn with_name(e: TypeEncodeError, name: &str) -> TypeEncodeError {
    match e {
        TypeEncodeError::UnboundResource(n) if n.is_empty() => {
            TypeEncodeError::UnboundResource(name.to_string())
        }
        other => other,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Type(ComponentAnyTypeId),
    Resource(ResourceId),
}
