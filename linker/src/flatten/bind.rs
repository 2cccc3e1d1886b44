//! Part of `flatten`: one group of core instances → what each import of
//! each member is bound to ([`Group`]), with the checks that refuse a group
//! and the shim bypass.
//!
//! - An import bound to another member's export is linked by fuse.
//! - An import bound to a canonical function is an *external*: it stays an
//!   import of the linked module, one import per component item. A lowering
//!   whose options (memory, realloc, post-return) name the group's own
//!   exports cannot be an import of the module that defines them: it is
//!   *late*, called through a table that a fixup instance fills after the
//!   linked module exists (see [`super::fixup`]).
//! - wit-component's shim/fixup pair (a module of `call_indirect` stubs
//!   over a table, and a module of element segments filling it) is looked
//!   through: a stub's slot is read from the fixup's segments, and an import
//!   of the stub is bound to what the slot holds (a direct call, or the
//!   late table). A shim and a fixup left with nothing to do are dropped.
//!
//! Cost: O(imports + elements) per group.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use wasmparser::{
    CanonicalFunction, CanonicalOption, ElementItems, ElementKind, Instance, Operator, TypeRef,
};
use weld_format::survey::ModuleSurvey;

use super::groups::{Origin, Origins};
use super::read::{Item, Sort};
use crate::error::FlattenRefusal;

/// What one import of a member is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding<'a> {
    /// Export `name` of member instance `instance`.
    Member { instance: u32, name: &'a str },
    /// External item `index` (an item of the component).
    External(u32),
    /// Late function `index` (see the module docs).
    Late(u32),
}

/// One member of a group.
#[derive(Debug)]
pub(crate) struct Member<'a> {
    /// Its core instance.
    pub instance: u32,
    /// How errors and the map name it (`3 $main`).
    pub label: String,
    /// Its module's survey.
    pub survey: ModuleSurvey<'a>,
    /// Per import, what it is bound to.
    pub bindings: Vec<Binding<'a>>,
}

/// An external item of a group: a core item of the component, and the
/// import name it gets in the linked module.
#[derive(Debug, Clone)]
pub(crate) struct External {
    pub sort: Sort,
    pub index: u32,
    pub module: String,
    pub name: String,
}

/// A late function: a core function of the component and its type.
#[derive(Debug, Clone)]
pub(crate) struct Late {
    pub index: u32,
    pub params: Vec<wasmparser::ValType>,
    pub results: Vec<wasmparser::ValType>,
}

/// One group, bound.
#[derive(Debug)]
pub(crate) struct Group<'a> {
    /// Every core instance of the group, in order (dropped ones included).
    pub instances: Vec<u32>,
    /// The members linked, in instantiation order.
    pub members: Vec<Member<'a>>,
    /// External items, by the index [`Binding::External`] holds.
    pub externals: Vec<External>,
    /// Late functions, by the index [`Binding::Late`] holds.
    pub late: Vec<Late>,
    /// Imports of shim stubs made direct.
    pub bypassed: usize,
    /// The shim and fixup instances dropped.
    pub dropped: Vec<u32>,
}

/// The context of binding: the component and its items.
pub(crate) struct BindCx<'o, 'i, 'a> {
    pub file: &'o str,
    pub origins: &'o Origins<'i, 'a>,
    /// Core instance index → its name in the component's name section.
    pub names: &'o HashMap<u32, String>,
    /// A core module's bytes (followed through outer aliases), or why
    /// they are not in the input.
    pub module: &'o dyn Fn(u32) -> Result<&'a [u8], String>,
}

impl BindCx<'_, '_, '_> {
    fn label(&self, i: u32) -> String {
        match self.names.get(&i) {
            Some(n) => format!("{i} ${n}"),
            None => i.to_string(),
        }
    }

    fn refuse(&self, i: u32, reason: impl Into<String>) -> FlattenRefusal {
        FlattenRefusal {
            file: self.file.to_string(),
            instance: self.label(i),
            reason: reason.into(),
        }
    }
}

/// Binds group `instances` (in order).
pub(crate) fn bind<'a>(cx: &BindCx<'_, '_, 'a>, instances: &[u32]) -> Result<Group<'a>, FlattenRefusal> {
    let o = cx.origins;
    let in_group: HashSet<u32> = instances.iter().copied().collect();
    let mut members = Vec::with_capacity(instances.len());
    let mut modules_seen: HashMap<u32, u32> = HashMap::default();
    for &i in instances {
        let Some(Instance::Instantiate { module_index, .. }) = o.core_instance(i) else {
            unreachable!("groups hold instantiations only");
        };
        if let Some(first) = modules_seen.insert(*module_index, i) {
            return Err(cx.refuse(
                i,
                format!(
                    "core module {module_index} is instantiated twice in one group (also by core instance {})",
                    cx.label(first)
                ),
            ));
        }
        let bytes = (cx.module)(*module_index)
            .map_err(|why| cx.refuse(i, format!("core module {module_index} {why}")))?;
        let label = cx.label(i);
        let survey = weld_format::survey(&format!("{}: core instance {label}", cx.file), bytes)
            .map_err(|p| cx.refuse(i, format!("its module is malformed: {p}")))?;
        let weld_format::Survey::Module(survey) = survey else {
            return Err(cx.refuse(i, "its module is a component"));
        };
        members.push(Member {
            instance: i,
            label,
            survey,
            bindings: Vec::new(),
        });
    }
    let mut ext = Externals::default();
    for m in 0..members.len() {
        let bindings = bind_imports(cx, &members[m], &in_group, &mut ext)?;
        // An export another member lacks is told here, with the import.
        for (imp, b) in members[m].survey.imports.iter().zip(&bindings) {
            if let Binding::Member { instance, name } = *b {
                let provider = members.iter().find(|p| p.instance == instance);
                if provider.is_some_and(|p| p.survey.export(name).is_none()) {
                    return Err(cx.refuse(
                        members[m].instance,
                        format!(
                            "import \"{}\" \"{}\": core instance {} has no export `{name}`",
                            imp.module,
                            imp.name,
                            cx.label(instance)
                        ),
                    ));
                }
            }
        }
        members[m].bindings = bindings;
    }
    let (bypassed, dropped) = bypass_shim(&mut members);
    Ok(Group {
        instances: instances.to_vec(),
        members,
        externals: ext.list,
        late: ext.late,
        bypassed,
        dropped,
    })
}

/// External and late items, each once.
#[derive(Default)]
struct Externals {
    list: Vec<External>,
    late: Vec<Late>,
    /// Core item → its binding.
    seen: HashMap<(Sort, u32), Binding<'static>>,
    /// Import names taken.
    names: HashSet<(String, String)>,
}

/// Binds every import of member `m`.
fn bind_imports<'a>(
    cx: &BindCx<'_, '_, 'a>,
    m: &Member<'a>,
    in_group: &HashSet<u32>,
    ext: &mut Externals,
) -> Result<Vec<Binding<'a>>, FlattenRefusal> {
    let o = cx.origins;
    let Some(Instance::Instantiate { args, .. }) = o.core_instance(m.instance) else {
        unreachable!("members are instantiations");
    };
    let mut out = Vec::with_capacity(m.survey.imports.len());
    for imp in &m.survey.imports {
        let what = format!("import \"{}\" \"{}\"", imp.module, imp.name);
        let Some(arg) = args.iter().find(|a| a.name == imp.module) else {
            return Err(cx.refuse(
                m.instance,
                format!("{what}: no instantiation argument named `{}`", imp.module),
            ));
        };
        let origin = o.export_of(arg.index, imp.name, 0).ok_or_else(|| {
            cx.refuse(
                m.instance,
                format!(
                    "{what}: argument instance {} has no export `{}`",
                    arg.index, imp.name
                ),
            )
        })?;
        let b = match origin {
            Origin::Export { instance, name } if in_group.contains(&instance) => {
                Binding::Member { instance, name }
            }
            Origin::Export { instance, .. } => {
                return Err(cx.refuse(
                    m.instance,
                    format!("{what}: bound to core instance {instance}, outside the group"),
                ))
            }
            Origin::Unknown => {
                return Err(cx.refuse(
                    m.instance,
                    format!("{what}: its argument names an item that does not exist"),
                ))
            }
            Origin::Item(p) => {
                let (sort, index) = o.items.defines[p].expect("an origin item defines something");
                external(cx, m, imp, p, sort, index, in_group, ext)
                    .map_err(|r| cx.refuse(m.instance, format!("{what}: {r}")))?
            }
        };
        out.push(b);
    }
    Ok(out)
}

/// Binds an import to the component item at position `p`.
#[allow(clippy::too_many_arguments)]
fn external<'a>(
    cx: &BindCx<'_, '_, 'a>,
    m: &Member<'a>,
    imp: &wasmparser::Import<'a>,
    p: usize,
    sort: Sort,
    index: u32,
    in_group: &HashSet<u32>,
    ext: &mut Externals,
) -> Result<Binding<'a>, String> {
    if let Some(b) = ext.seen.get(&(sort, index)) {
        return Ok(*b);
    }
    let late = match &cx.origins.items.items[p] {
        Item::Canon(CanonicalFunction::Lower { options, .. }) => {
            let mut late = false;
            for opt in options.iter() {
                let (s, i) = match *opt {
                    CanonicalOption::Memory(i) => (Sort::CoreMemory, i),
                    CanonicalOption::Realloc(i) | CanonicalOption::PostReturn(i) => (Sort::CoreFunc, i),
                    CanonicalOption::Async | CanonicalOption::Callback(_) => {
                        return Err("an async lowering (wasip3) needs its own module".into())
                    }
                    _ => continue,
                };
                if let Origin::Export { instance, .. } = cx.origins.origin(s, i, 0) {
                    late |= in_group.contains(&instance);
                }
            }
            late
        }
        Item::Canon(
            CanonicalFunction::ResourceNew { .. }
            | CanonicalFunction::ResourceDrop { .. }
            | CanonicalFunction::ResourceRep { .. },
        ) => false,
        Item::Canon(other) => {
            return Err(format!(
                "bound to the intrinsic `{}`, which flatten does not link (async and thread intrinsics)",
                intrinsic_name(other)
            ))
        }
        _ => {
            return Err(format!(
                "bound to {sort} {index}, which is not a core export or a canonical function"
            ))
        }
    };
    let b = if late {
        let TypeRef::Func(t) = imp.ty else {
            return Err("a lowered function imported as something else".into());
        };
        let Some(wasmparser::CompositeInnerType::Func(f)) =
            m.survey.types.get(t as usize).map(|s| &s.composite_type.inner)
        else {
            return Err(format!("type {t} is not a function type"));
        };
        ext.late.push(Late {
            index,
            params: f.params().to_vec(),
            results: f.results().to_vec(),
        });
        Binding::Late(ext.late.len() as u32 - 1)
    } else {
        let mut name = imp.name.to_string();
        let mut n = 2;
        while !ext.names.insert((imp.module.to_string(), name.clone())) {
            name = format!("{}#{n}", imp.name);
            n += 1;
        }
        ext.list.push(External {
            sort,
            index,
            module: imp.module.to_string(),
            name,
        });
        Binding::External(ext.list.len() as u32 - 1)
    };
    let stored = match b {
        Binding::External(i) => Binding::External(i),
        Binding::Late(i) => Binding::Late(i),
        Binding::Member { .. } => unreachable!(),
    };
    ext.seen.insert((sort, index), stored);
    Ok(b)
}

/// A canonical intrinsic's name, for messages.
fn intrinsic_name(c: &CanonicalFunction) -> String {
    let d = format!("{c:?}");
    let head = d.split([' ', '{', '(']).next().unwrap_or("");
    let mut out = String::new();
    for (i, ch) in head.chars().enumerate() {
        if ch.is_uppercase() {
            if i > 0 {
                out.push('.');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A shim module: no imports, one table, and stubs that pass their
/// parameters to `call_indirect` of one slot. Its stub exports → slots, and
/// the name of its table export.
fn shim_slots<'a>(s: &ModuleSurvey<'a>) -> Option<(HashMap<&'a str, u32>, &'a str)> {
    if !s.imports.is_empty() || s.tables.len() != 1 || !s.memories.is_empty() || s.start.is_some() {
        return None;
    }
    let mut table = None;
    let mut slots = HashMap::default();
    for e in &s.exports {
        match e.kind {
            wasmparser::ExternalKind::Table => table = Some(e.name),
            wasmparser::ExternalKind::Func => {
                let body = s.bodies.get(e.index as usize)?;
                slots.insert(e.name, stub_slot(body)?);
            }
            _ => return None,
        }
    }
    Some((slots, table?))
}

/// The slot a stub calls: `local.get 0..n; i32.const K; call_indirect; end`.
fn stub_slot(body: &wasmparser::FunctionBody<'_>) -> Option<u32> {
    let mut ops = body.get_operators_reader().ok()?;
    let mut next_local = 0;
    let mut slot = None;
    while !ops.eof() {
        match ops.read().ok()? {
            Operator::LocalGet { local_index } if slot.is_none() && local_index == next_local => {
                next_local += 1
            }
            Operator::I32Const { value } if slot.is_none() => slot = Some(value as u32),
            Operator::CallIndirect { table_index: 0, .. } if slot.is_some() => {}
            Operator::End => return slot,
            _ => return None,
        }
    }
    None
}

/// Looks through a shim/fixup pair: every member import bound to a stub is
/// bound to what the fixup puts in the stub's slot. Returns how many
/// imports were made direct and the instances dropped (the shim and fixup,
/// when nothing else needs them).
fn bypass_shim(members: &mut Vec<Member<'_>>) -> (usize, Vec<u32>) {
    let mut bypassed = 0;
    let mut dropped = Vec::new();
    let shims: Vec<usize> = (0..members.len())
        .filter(|&k| shim_slots(&members[k].survey).is_some())
        .collect();
    for s in shims {
        let shim = members[s].instance;
        let (slots, table) = shim_slots(&members[s].survey).expect("checked above");
        // The fixup: the member that imports the shim's table and fills it.
        let Some(f) = (0..members.len()).find(|&k| {
            members[k].bindings.iter().any(|b| {
                *b == Binding::Member {
                    instance: shim,
                    name: table,
                }
            })
        }) else {
            continue;
        };
        let Some(filled) = fixup_slots(&members[f], shim, table) else {
            continue;
        };
        for (k, m) in members.iter_mut().enumerate() {
            if k == f {
                continue;
            }
            for b in &mut m.bindings {
                if let Binding::Member { instance, name } = *b {
                    if instance != shim {
                        continue;
                    }
                    if let Some(to) = slots.get(name).and_then(|slot| filled.get(slot)) {
                        *b = *to;
                        bypassed += 1;
                    }
                }
            }
        }
        // Drop the pair when nothing else reaches the shim and the fixup
        // only fills its table.
        let shim_used = members.iter().enumerate().any(|(k, m)| {
            k != f
                && m.bindings
                    .iter()
                    .any(|b| matches!(b, Binding::Member { instance, .. } if *instance == shim))
        });
        let fixup_used = members.iter().any(|m| {
            m.bindings
                .iter()
                .any(|b| matches!(b, Binding::Member { instance, .. } if *instance == members[f].instance))
        });
        let fx = &members[f].survey;
        let pure = fx.bodies.is_empty()
            && fx.globals.is_empty()
            && fx.memories.is_empty()
            && fx.tables.is_empty()
            && fx.data.is_empty()
            && fx.start.is_none()
            && fx.exports.is_empty();
        if !shim_used && !fixup_used && pure {
            let (si, fi) = (members[s].instance, members[f].instance);
            dropped.extend([si, fi]);
            members.retain(|m| m.instance != si && m.instance != fi);
        }
    }
    (bypassed, dropped)
}

/// What fixup `f` puts in each slot of the shim's table: slot → the binding
/// of the imported function it stores. `None` when a segment is not a
/// constant-offset list of imported functions.
fn fixup_slots<'a>(f: &Member<'a>, shim: u32, table: &str) -> Option<HashMap<u32, Binding<'a>>> {
    let s = &f.survey;
    // The fixup's table index of the shim's table, and its imported funcs.
    let mut table_idx = None;
    let (mut n_tables, mut funcs) = (0u32, Vec::new());
    for (imp, b) in s.imports.iter().zip(&f.bindings) {
        match imp.ty {
            TypeRef::Table(_) => {
                if *b
                    == (Binding::Member {
                        instance: shim,
                        name: table,
                    })
                {
                    table_idx = Some(n_tables);
                }
                n_tables += 1;
            }
            TypeRef::Func(_) | TypeRef::FuncExact(_) => funcs.push(*b),
            _ => {}
        }
    }
    let table_idx = table_idx?;
    let mut out = HashMap::default();
    for e in &s.elements {
        let ElementKind::Active {
            table_index,
            offset_expr,
        } = &e.kind
        else {
            continue;
        };
        if table_index.unwrap_or(0) != table_idx {
            continue;
        }
        let mut slot = u32::try_from(crate::fuse::plan::coalesce::constant(offset_expr)?).ok()?;
        let mut put = |func: u32| -> Option<()> {
            out.insert(slot, *funcs.get(func as usize)?);
            slot += 1;
            Some(())
        };
        match &e.items {
            ElementItems::Functions(r) => {
                for func in r.clone() {
                    put(func.ok()?)?;
                }
            }
            ElementItems::Expressions(_, r) => {
                for expr in r.clone() {
                    let mut ops = expr.ok()?.get_operators_reader();
                    let Ok(Operator::RefFunc { function_index }) = ops.read() else {
                        return None;
                    };
                    put(function_index)?;
                }
            }
        }
    }
    Some(out)
}
