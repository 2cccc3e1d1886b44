//! `weld flatten`: the core modules of a component that share memory
//! (main, the preview1 adapter, `component link`'s libraries and their
//! `__init`/fixup modules) statically linked into one core module, the
//! component rewritten around it with the same interface.
//!
//! The driver, one stage per module, in pipeline order: [`read`] (the
//! component's top level as items), [`groups`] (core instances wired
//! core-to-core), [`bind`] (every import of every member bound; checks;
//! the shim looked through), [`link`] (fuse's plan/emit stages over the
//! members), [`fixup`] (the module that fills the late table), [`nodes`]
//! (the items as a graph: liveness and order), [`renumber`] and
//! [`encode`] (the component written anew). Nested components are
//! flattened first, each on its own.

pub(crate) mod bind;
pub(crate) mod encode;
pub(crate) mod fixup;
pub(crate) mod groups;
pub(crate) mod link;
pub(crate) mod nodes;
pub(crate) mod read;
pub(crate) mod renumber;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use wasmparser::{ExternalKind, Payload};

use crate::error::{Error, FlattenError, FlattenRefusal};
use crate::fuse::icf::Icf;
use bind::{BindCx, Group};
use groups::Origins;
use nodes::{Nodes, Out};
use read::{Item, Items, Sort};

/// Options for [`flatten`].
#[derive(Debug, Clone)]
pub struct FlattenOptions {
    /// Link the groups that can be linked and leave the others as they
    /// are (each named in a warning), instead of refusing.
    pub partial: bool,
    /// Validate (default: yes), as `fuse` does: each member's bodies while
    /// they are rewritten, and every section of the output; an output
    /// function body is valid when its input body is and its indices are
    /// remapped, so bodies are not read again unless `validate_output`.
    pub validate: bool,
    /// Validate every function body of the output too (in parallel).
    pub validate_output: bool,
    /// Drop the name sections and debug information of the linked modules.
    pub strip_debug: bool,
    /// Identical code folding inside each linked module (default: safe).
    pub icf: Icf,
}

impl Default for FlattenOptions {
    fn default() -> Self {
        FlattenOptions {
            partial: false,
            validate: true,
            validate_output: false,
            strip_debug: false,
            icf: Icf::Safe,
        }
    }
}

/// The flattened component and what happened on the way.
#[derive(Debug)]
pub struct Flattened {
    /// The component.
    pub bytes: Vec<u8>,
    /// Groups left as they were (`partial`), and dropped sections.
    pub warnings: Vec<String>,
    /// What was linked.
    pub report: FlattenReport,
}

/// What `flatten` did (`weld flatten --map`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FlattenReport {
    /// Core modules in the input, at any depth.
    pub core_modules_before: usize,
    /// Core modules in the output, at any depth.
    pub core_modules_after: usize,
    /// Each group linked.
    pub groups: Vec<GroupReport>,
    /// Groups left as they were, and why.
    pub left: Vec<String>,
}

/// One group of core instances linked into one module.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupReport {
    /// The component (`FILE`, or `FILE: component N` when nested).
    pub component: String,
    /// Its core instances (index and name), in instantiation order.
    pub instances: Vec<String>,
    /// The shim and fixup instances looked through and dropped.
    pub dropped: Vec<String>,
    /// Imports of shim stubs made direct.
    pub direct_calls: usize,
    /// Lowerings that need the linked module's memory or `realloc`,
    /// called through the late table that a fixup instance fills.
    pub late: usize,
    /// The linked module's imports.
    pub imports: usize,
    /// The linked module's size in bytes.
    pub bytes: usize,
    /// Where every item of every member went (fuse's link map; its inputs
    /// are named `core instance N $name`, and `weld:late` when the group
    /// has late functions).
    pub fuse: crate::fuse::LinkMap,
}

/// Flattens the component `bytes` (`file` names it in messages).
///
/// ```
/// // Two core instances wired core-to-core: `b` imports `a`'s function.
/// let wat = r#"(component
///   (core module $a (func (export "two") (result i32) i32.const 2))
///   (core module $b (import "a" "two" (func $two (result i32)))
///     (func (export "four") (result i32) call $two call $two i32.add))
///   (core instance $a (instantiate $a))
///   (core instance $b (instantiate $b (with "a" (instance $a))))
///   (func (export "four") (result u32) (canon lift (core func $b "four"))))"#;
/// let bytes = wat::parse_str(wat).unwrap();
/// let out = weld_linker::flatten(&Default::default(), "demo", &bytes).unwrap();
/// assert_eq!((out.report.core_modules_before, out.report.core_modules_after), (2, 1));
/// ```
pub fn flatten(opts: &FlattenOptions, file: &str, bytes: &[u8]) -> Result<Flattened, Error> {
    let mut report = FlattenReport {
        core_modules_before: core_modules(bytes),
        ..FlattenReport::default()
    };
    let mut warnings = Vec::new();
    let prepared = prepare(opts, file, bytes, &[], &mut report, &mut warnings)?;
    let out = match prepared.changed {
        true => write(&prepared, &[])?,
        false => bytes.to_vec(),
    };
    report.core_modules_after = core_modules(&out);
    // The whole output at once (the linked modules included: the fuse
    // stages check their sections no further), bodies when asked, in
    // parallel.
    if opts.validate || opts.validate_output {
        weld_format::validate::validate(&out, opts.validate_output).map_err(|e| {
            FlattenError::from(
                weld_format::Problem::parse(file, None, e).because("flatten wrote an invalid component"),
            )
        })?;
    }
    Ok(Flattened {
        bytes: out,
        warnings,
        report,
    })
}

/// The number of core modules in `bytes`, at any depth.
fn core_modules(bytes: &[u8]) -> usize {
    wasmparser::Parser::new(0)
        .parse_all(bytes)
        .take_while(Result::is_ok)
        .filter(|p| matches!(p, Ok(Payload::ModuleSection { .. })))
        .count()
}

/// A component being flattened, and the components around it (for outer
/// aliases): its bytes and items.
#[derive(Clone, Copy)]
struct Scope<'s, 'a> {
    bytes: &'a [u8],
    items: &'s Items<'a>,
}

/// The bytes of core module `index` of `scopes[level]`, followed through
/// outer aliases; or why they are not in the input.
fn module_bytes<'a>(scopes: &[Scope<'_, 'a>], level: usize, index: u32) -> Result<&'a [u8], String> {
    let s = scopes[level];
    let at = s
        .items
        .defines
        .iter()
        .position(|d| *d == Some((Sort::CoreModule, index)))
        .ok_or("does not exist")?;
    match &s.items.items[at] {
        Item::Module(range) => Ok(&s.bytes[range.clone()]),
        Item::Alias(wasmparser::ComponentAlias::Outer { count, index, .. }) => {
            match level.checked_sub(*count as usize) {
                Some(up) => module_bytes(scopes, up, *index),
                None => Err("is aliased from outside the input: its code is not here".into()),
            }
        }
        Item::Import(_) => Err("is imported by the component: its code is not here".into()),
        _ => Err("is exported by a component instance: its code is not here".into()),
    }
}

/// A component made ready to write: its items as ordered, numbered nodes,
/// and its nested components, each ready too.
struct Prepared<'a> {
    file: String,
    bytes: &'a [u8],
    items: Items<'a>,
    nodes: Nodes,
    order: Vec<usize>,
    maps: renumber::Maps,
    nested: HashMap<usize, Prepared<'a>>,
    export_names: HashMap<(u32, String), String>,
    new_names: encode::NewNames,
    /// What it names of the components around it: (levels out, sort, index).
    outer_refs: Vec<(u32, Sort, u32)>,
    /// Whether anything in it, or in a nested component, changes.
    changed: bool,
}

/// One component (nested ones first): its groups bound and linked, its
/// items ordered and numbered.
fn prepare<'a>(
    opts: &FlattenOptions,
    file: &str,
    bytes: &'a [u8],
    outer: &[Scope<'_, 'a>],
    report: &mut FlattenReport,
    warnings: &mut Vec<String>,
) -> Result<Prepared<'a>, FlattenError> {
    // As deep as the survey reads, and no deeper: each level is a call.
    if outer.len() > weld_format::limits::MAX_NESTING {
        return Err(weld_format::Problem::new(
            file,
            weld_format::Item::Part("nested component".into()),
            format!("nesting deeper than {} levels", weld_format::limits::MAX_NESTING),
        )
        .into());
    }
    let items = read::read(file, bytes)?;
    let mut scopes: Vec<Scope<'_, 'a>> = outer.to_vec();
    scopes.push(Scope { bytes, items: &items });
    let mut nested = HashMap::default();
    let mut n_comp = 0;
    for (p, item) in items.items.iter().enumerate() {
        if let Item::Component(range) = item {
            let inner = bytes
                .get(range.clone())
                .ok_or_else(|| truncated(file, range.start))?;
            let name = format!("{file}: component {n_comp}");
            n_comp += 1;
            nested.insert(p, prepare(opts, &name, inner, &scopes, report, warnings)?);
        }
    }
    let origins = Origins::new(&items);
    let names = instance_names(&items);
    let level = scopes.len() - 1;
    let module = |i: u32| module_bytes(&scopes, level, i);
    let cx = BindCx {
        file,
        origins: &origins,
        names: &names,
        module: &module,
    };
    let mut bound: Vec<Group<'a>> = Vec::new();
    let mut refusals: Vec<FlattenRefusal> = Vec::new();
    for g in groups::find(&origins) {
        match bind::bind(&cx, &g) {
            Ok(b) => bound.push(b),
            Err(r) if opts.partial => {
                warnings.push(format!("{r}; left as it was"));
                report.left.push(r.to_string());
            }
            Err(r) => refusals.push(r),
        }
    }
    if !refusals.is_empty() {
        return Err(FlattenError::Cannot(refusals));
    }
    let changed = !bound.is_empty() || nested.values().any(|n| n.changed);
    let definer = origins.definer;
    rewrite(
        opts, file, bytes, items, &definer, &names, bound, nested, changed, report,
    )
}

fn truncated(file: &str, at: usize) -> FlattenError {
    weld_format::Problem::at(
        file,
        weld_format::Item::Part("nested section".into()),
        Some(at as u64),
        "runs past the end of the input",
    )
    .into()
}

/// Writes a prepared component; `outer` are the maps of the components
/// around it, innermost first.
fn write<'a>(p: &Prepared<'a>, outer: &[&renumber::Maps]) -> Result<Vec<u8>, FlattenError> {
    let mut inner: Vec<&renumber::Maps> = vec![&p.maps];
    inner.extend_from_slice(outer);
    let mut nested = HashMap::default();
    for (pos, child) in &p.nested {
        nested.insert(*pos, write(child, &inner)?);
    }
    let ecx = encode::EncodeCx {
        file: &p.file,
        bytes: p.bytes,
        items: &p.items,
        nodes: &p.nodes,
        nested: &nested,
        export_names: &p.export_names,
        new_names: &p.new_names,
        outer_maps: outer,
    };
    encode::encode(&ecx, &p.order, &p.maps)
}

/// Core instance names from the component's `component-name` section.
fn instance_names(items: &Items<'_>) -> HashMap<u32, String> {
    let mut out = HashMap::default();
    for item in &items.items {
        let Item::Custom {
            name: "component-name",
            data,
        } = item
        else {
            continue;
        };
        let reader = wasmparser::ComponentNameSectionReader::new(wasmparser::BinaryReader::new(data, 0));
        for sub in reader.into_iter().flatten() {
            if let wasmparser::ComponentName::CoreInstances(map) = sub {
                for n in map.into_iter().flatten() {
                    out.insert(n.index, n.name.to_string());
                }
            }
        }
    }
    out
}

/// The component with each bound group replaced by its linked module.
#[allow(clippy::too_many_arguments)]
fn rewrite<'a>(
    opts: &FlattenOptions,
    file: &str,
    bytes: &'a [u8],
    items: Items<'a>,
    definer: &HashMap<(Sort, u32), usize>,
    names: &HashMap<u32, String>,
    groups: Vec<Group<'_>>,
    nested: HashMap<usize, Prepared<'a>>,
    changed: bool,
    report: &mut FlattenReport,
) -> Result<Prepared<'a>, FlattenError> {
    // Every instance of a group goes; each member's exports are aliased
    // from its group's linked instance instead.
    let n_inst = items.counts[Sort::CoreInstance.slot()];
    let linked_inst: Vec<u32> = (0..groups.len() as u32).map(|g| n_inst + g).collect();
    let removed: HashSet<u32> = groups.iter().flat_map(|g| g.instances.iter().copied()).collect();
    let member_of: HashMap<u32, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, grp)| grp.members.iter().map(move |m| (m.instance, g)))
        .collect();
    let mut nodes = Nodes::from_items(&items, &|i| removed.contains(&i), &|i| {
        member_of.get(&i).map(|&g| linked_inst[g])
    });
    nodes.next[Sort::CoreInstance.slot()] += groups.len() as u32;
    // A nested component keeps alive what it aliases from this one.
    let mut outer_refs: Vec<(u32, Sort, u32)> = Vec::new();
    for node in &mut nodes.nodes {
        match node.out {
            Out::Orig(p) => {
                if let Some(child) = nested.get(&p) {
                    for &(up, sort, i) in &child.outer_refs {
                        match up {
                            1 => node.refs.push((sort, i)),
                            _ => outer_refs.push((up - 1, sort, i)),
                        }
                    }
                }
            }
            _ => continue,
        }
    }

    // What the rest of the component still needs from each group: the
    // exports its linked module must have.
    let extra: Vec<(Sort, u32)> = groups
        .iter()
        .flat_map(|g| {
            g.externals
                .iter()
                .map(|e| (e.sort, e.index))
                .chain(g.late.iter().map(|l| (Sort::CoreFunc, l.index)))
        })
        .collect();
    let live = nodes.live(&extra);
    let mut export_names: HashMap<(u32, String), String> = HashMap::default();
    let mut wanted: Vec<Vec<(u32, String, String)>> = vec![Vec::new(); groups.len()];
    let mut taken: Vec<HashSet<String>> = vec![HashSet::default(); groups.len()];
    for (k, node) in nodes.nodes.iter().enumerate() {
        let Out::MemberAlias { member, name, .. } = &node.out else {
            continue;
        };
        if !live[k] || export_names.contains_key(&(*member, name.clone())) {
            continue;
        }
        let g = member_of[member];
        let mut out = name.clone();
        let mut n = 2;
        while !taken[g].insert(out.clone()) {
            out = format!("{name}#{n}");
            n += 1;
        }
        export_names.insert((*member, name.clone()), out.clone());
        wanted[g].push((*member, name.clone(), out));
    }

    // Link each group, and add its module, instance and fixup.
    let mut new_names = Vec::new();
    let position = |i: u32| definer[&(Sort::CoreInstance, i)] as u64;
    for (g, group) in groups.iter().enumerate() {
        let exports: Vec<(u32, &str, String)> = wanted[g]
            .iter()
            .map(|(m, n, o)| (*m, n.as_str(), o.clone()))
            .collect();
        let lopts = link::LinkOptions {
            icf: opts.icf,
            strip_debug: opts.strip_debug,
            validate: opts.validate,
        };
        let fused = link::link_group(file, group, &exports, lopts).map_err(|e| FlattenError::Link {
            file: file.to_string(),
            instances: group
                .instances
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            source: Box::new(e),
        })?;
        let fuse_map = fused.map;
        let module = fused.bytes.into_vec();
        let last = group.instances.iter().map(|&i| position(i)).max().unwrap_or(0);
        let (imports, has_start) = module_interface(&module);
        let ext_at: HashMap<(&str, &str), &bind::External> = group
            .externals
            .iter()
            .map(|e| ((e.module.as_str(), e.name.as_str()), e))
            .collect();
        let key = last * 4;
        let (n_imports, n_bytes) = (imports.len(), module.len());
        let mod_idx = nodes.add_fresh(Out::Module(module), Sort::CoreModule, key);
        new_names.push(((Sort::CoreModule, mod_idx), "weld:flattened".to_string()));
        new_names.push(((Sort::CoreInstance, linked_inst[g]), "weld:flattened".to_string()));
        report.groups.push(GroupReport {
            component: file.to_string(),
            instances: group.instances.iter().map(|&i| label(names, i)).collect(),
            dropped: group.dropped.iter().map(|&i| label(names, i)).collect(),
            direct_calls: group.bypassed,
            late: group.late.len(),
            imports: n_imports,
            bytes: n_bytes,
            fuse: fuse_map,
        });
        // One instance of exports per import module name.
        let mut args: Vec<(String, u32)> = Vec::new();
        let mut by_module: Vec<(String, nodes::InlineExports)> = Vec::new();
        for (module, name) in &imports {
            let e = ext_at
                .get(&(module.as_str(), name.as_str()))
                .ok_or_else(|| FlattenError::Encode {
                    file: file.to_string(),
                    what: format!("the linked module's import \"{module}\" \"{name}\""),
                    reason: "nothing in the component provides it".into(),
                })?;
            let kind = groups::Origins::kind_of(e.sort).expect("externals are core items");
            match by_module.iter_mut().find(|(m, _)| m == module) {
                Some((_, list)) => list.push((name.clone(), kind, e.index)),
                None => by_module.push((module.clone(), vec![(name.clone(), kind, e.index)])),
            }
        }
        for (module, list) in by_module {
            args.push((
                module,
                nodes.add_fresh(Out::Inline(list), Sort::CoreInstance, key),
            ));
        }
        let linked = Out::Instantiate {
            module: mod_idx,
            args,
        };
        nodes.add(linked, (Sort::CoreInstance, linked_inst[g]), key);
        if !group.late.is_empty() {
            add_fixup(&mut nodes, group, linked_inst[g], has_start, key, &mut new_names);
        }
    }

    let live = nodes.live(&[]);
    let order = nodes.order(&live);
    if order.len() != live.iter().filter(|l| **l).count() {
        return Err(FlattenError::Encode {
            file: file.to_string(),
            what: "the component's items".into(),
            reason: "they refer to each other in a loop once linked".into(),
        });
    }
    for &k in &order {
        outer_refs.extend(nodes.nodes[k].outer.iter().copied());
    }
    let maps = encode::number(&nodes, &order);
    Ok(Prepared {
        file: file.to_string(),
        bytes,
        items,
        nodes,
        order,
        maps,
        nested,
        export_names,
        new_names,
        outer_refs,
        changed,
    })
}

/// How reports name a core instance: its index and name.
fn label(names: &HashMap<u32, String>, i: u32) -> String {
    match names.get(&i) {
        Some(n) => format!("{i} ${n}"),
        None => i.to_string(),
    }
}

/// A linked module's imports (module, name) and whether it exports its
/// start for the fixup to run.
fn module_interface(module: &[u8]) -> (Vec<(String, String)>, bool) {
    let mut imports = Vec::new();
    let mut start = false;
    for p in wasmparser::Parser::new(0).parse_all(module).flatten() {
        match p {
            Payload::ImportSection(r) => {
                for imp in r.into_imports().flatten() {
                    imports.push((imp.module.to_string(), imp.name.to_string()));
                }
            }
            Payload::ExportSection(r) => {
                start |= r.into_iter().flatten().any(|e| e.name == link::START);
            }
            _ => {}
        }
    }
    (imports, start)
}

/// The fixup of a group with late functions: its module, the aliases of
/// the linked instance's late table and start, its argument, its instance.
/// Its nodes share the linked instance's priority: it is instantiated as
/// soon as the lowerings it puts in the table exist, before anything the
/// input placed after the group.
fn add_fixup(
    nodes: &mut Nodes,
    group: &Group<'_>,
    linked: u32,
    start: bool,
    key: u64,
    new_names: &mut encode::NewNames,
) {
    let module = fixup::fixup_module(&group.late, start);
    let mod_idx = nodes.add_fresh(Out::Module(module), Sort::CoreModule, key);
    new_names.push(((Sort::CoreModule, mod_idx), "weld:fixup".to_string()));
    let mut alias = |kind: ExternalKind, sort: Sort, name: &str| {
        let out = Out::CoreAlias {
            instance: linked,
            kind,
            name: name.to_string(),
        };
        nodes.add_fresh(out, sort, key)
    };
    let table = alias(ExternalKind::Table, Sort::CoreTable, link::LATE_TABLE);
    let start_func = start.then(|| alias(ExternalKind::Func, Sort::CoreFunc, link::START));
    let mut list = vec![(link::LATE_TABLE.to_string(), ExternalKind::Table, table)];
    list.extend(
        group
            .late
            .iter()
            .enumerate()
            .map(|(j, l)| (j.to_string(), ExternalKind::Func, l.index)),
    );
    if let Some(s) = start_func {
        list.push((link::START.to_string(), ExternalKind::Func, s));
    }
    let arg = nodes.add_fresh(Out::Inline(list), Sort::CoreInstance, key);
    let fixup = Out::Instantiate {
        module: mod_idx,
        args: vec![(String::new(), arg)],
    };
    let inst = nodes.add_fresh(fixup, Sort::CoreInstance, key);
    new_names.push(((Sort::CoreInstance, inst), "weld:fixup".to_string()));
}
