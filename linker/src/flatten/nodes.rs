//! Part of `flatten`: the component's items as a graph of nodes
//! ([`Nodes`]), before and after linking: what each defines, what it
//! refers to, which are live, and the order to write them in.
//!
//! A node is an item of the input (an alias of a member's export is
//! pointed at the group's linked instance) or a new one (the linked
//! module, its instance and arguments, the fixup). Liveness walks from the
//! items that matter (imports, exports, instantiations, types, custom
//! sections); an alias, an instance of exports, a canonical function or a
//! module nothing live refers to is dropped. The order is the input's,
//! except that an item waits for what it refers to: Kahn's algorithm with
//! each node's position as priority. Cost: O(n log n) in the items.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap as HashMap;
use wasm_encoder::reencode::ReencodeComponent;
use wasmparser::{ComponentAlias, ExternalKind, Instance};

use super::read::{Item, Items, Sort};
use super::renumber::Renumber;

/// Indices an item refers to: (sort, index).
pub(crate) type Refs = Vec<(Sort, u32)>;
/// Indices of the components around: (levels out, sort, index).
pub(crate) type OuterRefs = Vec<(u32, Sort, u32)>;
/// The exports of an instance of exports: (name, kind, index).
pub(crate) type InlineExports = Vec<(String, ExternalKind, u32)>;

/// What a node writes.
#[derive(Debug, Clone)]
pub(crate) enum Out {
    /// The input's item at this position, as it is.
    Orig(usize),
    /// An alias of export `name` of member `member`, now of the linked
    /// instance `instance` (its export name is looked up when written).
    MemberAlias {
        instance: u32,
        kind: ExternalKind,
        member: u32,
        name: String,
    },
    /// A new core module.
    Module(Vec<u8>),
    /// A new instance of exports: (name, kind, old index).
    Inline(InlineExports),
    /// A new instantiation: module, (argument name, instance).
    Instantiate { module: u32, args: Vec<(String, u32)> },
    /// A new alias of a core instance's export.
    CoreAlias {
        instance: u32,
        kind: ExternalKind,
        name: String,
    },
}

/// One node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub out: Out,
    /// What it defines (old numbering, new items after the input's).
    pub defines: Option<(Sort, u32)>,
    /// What it refers to.
    pub refs: Refs,
    /// What it refers to in the components around.
    pub outer: OuterRefs,
    /// Its priority: where it stood in the input (new items: where their
    /// group's last instance stood).
    pub key: u64,
    /// Kept whatever refers to it.
    pub root: bool,
}

/// The nodes of one component.
#[derive(Debug, Default)]
pub(crate) struct Nodes {
    pub nodes: Vec<Node>,
    /// (sort, old index) → node.
    pub by_def: HashMap<(Sort, u32), usize>,
    /// Next free old index per sort (for new items).
    pub next: [u32; 13],
}

impl Nodes {
    /// A new index of `sort`.
    pub(crate) fn fresh(&mut self, sort: Sort) -> u32 {
        let i = self.next[sort.slot()];
        self.next[sort.slot()] += 1;
        i
    }

    /// Adds a node.
    pub(crate) fn push(&mut self, node: Node) -> usize {
        let k = self.nodes.len();
        if let Some(d) = node.defines {
            self.by_def.insert(d, k);
        }
        self.nodes.push(node);
        k
    }

    /// Adds a new item defining `def`. What it refers to is read off `out`;
    /// an instantiation is kept whatever refers to it.
    pub(crate) fn add(&mut self, out: Out, def: (Sort, u32), key: u64) {
        let refs = match &out {
            Out::Orig(_) | Out::MemberAlias { .. } => unreachable!("input items come from `from_items`"),
            Out::Module(_) => Vec::new(),
            Out::Inline(list) => list.iter().map(|(_, k, i)| (Sort::of_core(*k), *i)).collect(),
            Out::Instantiate { module, args } => std::iter::once((Sort::CoreModule, *module))
                .chain(args.iter().map(|(_, i)| (Sort::CoreInstance, *i)))
                .collect(),
            Out::CoreAlias { instance, .. } => vec![(Sort::CoreInstance, *instance)],
        };
        let root = matches!(out, Out::Instantiate { .. });
        self.push(Node {
            out,
            defines: Some(def),
            refs,
            outer: Vec::new(),
            key,
            root,
        });
    }

    /// [`add`](Self::add) with a fresh index of `sort`, which it returns.
    pub(crate) fn add_fresh(&mut self, out: Out, sort: Sort, key: u64) -> u32 {
        let i = self.fresh(sort);
        self.add(out, (sort, i), key);
        i
    }

    /// The input's items as nodes: `removed` items (the groups' instances)
    /// left out, and aliases of a member's export (`linked` maps a member
    /// instance to its group's linked instance) pointed at the linked one.
    pub(crate) fn from_items(
        items: &Items<'_>,
        removed: &dyn Fn(u32) -> bool,
        linked: &dyn Fn(u32) -> Option<u32>,
    ) -> Nodes {
        let mut n = Nodes {
            next: items.counts,
            ..Nodes::default()
        };
        for (p, item) in items.items.iter().enumerate() {
            let defines = items.defines[p];
            if let (Item::CoreInstance(_), Some((_, i))) = (item, defines) {
                if removed(i) {
                    continue;
                }
            }
            let key = p as u64 * 4 + 1;
            let (out, (refs, outer)) = match item {
                Item::Alias(ComponentAlias::CoreInstanceExport {
                    kind,
                    instance_index,
                    name,
                }) if linked(*instance_index).is_some() => {
                    let instance = linked(*instance_index).expect("checked");
                    (
                        Out::MemberAlias {
                            instance,
                            kind: *kind,
                            member: *instance_index,
                            name: name.to_string(),
                        },
                        (vec![(Sort::CoreInstance, instance)], Vec::new()),
                    )
                }
                _ => (Out::Orig(p), item_refs(item)),
            };
            let root = !matches!(
                item,
                Item::Alias(_)
                    | Item::Canon(_)
                    | Item::Module(_)
                    | Item::CoreInstance(Instance::FromExports(_))
            );
            n.push(Node {
                out,
                defines,
                refs,
                outer,
                key,
                root,
            });
        }
        n
    }

    /// Which nodes are live: the roots, `extra` (old items), and
    /// everything they refer to.
    pub(crate) fn live(&self, extra: &[(Sort, u32)]) -> Vec<bool> {
        let mut live = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = (0..self.nodes.len()).filter(|&k| self.nodes[k].root).collect();
        stack.extend(extra.iter().filter_map(|d| self.by_def.get(d).copied()));
        while let Some(k) = stack.pop() {
            if std::mem::replace(&mut live[k], true) {
                continue;
            }
            for r in &self.nodes[k].refs {
                if let Some(&d) = self.by_def.get(r) {
                    if !live[d] {
                        stack.push(d);
                    }
                }
            }
        }
        live
    }

    /// The live nodes in writing order: each after what it refers to, else
    /// by key.
    pub(crate) fn order(&self, live: &[bool]) -> Vec<usize> {
        let n = self.nodes.len();
        let mut waiting = vec![0usize; n];
        let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
        for k in (0..n).filter(|&k| live[k]) {
            for r in &self.nodes[k].refs {
                if let Some(&d) = self.by_def.get(r) {
                    if live[d] && d != k {
                        waiting[k] += 1;
                        users[d].push(k);
                    }
                }
            }
        }
        let mut heap: BinaryHeap<Reverse<(u64, usize)>> = (0..n)
            .filter(|&k| live[k] && waiting[k] == 0)
            .map(|k| Reverse((self.nodes[k].key, k)))
            .collect();
        let mut out = Vec::with_capacity(n);
        while let Some(Reverse((_, k))) = heap.pop() {
            out.push(k);
            for &u in &users[k] {
                waiting[u] -= 1;
                if waiting[u] == 0 {
                    heap.push(Reverse((self.nodes[u].key, u)));
                }
            }
        }
        out
    }
}

/// Every top-level index an input item refers to, and every index of the
/// components around it.
pub(crate) fn item_refs(item: &Item<'_>) -> (Refs, OuterRefs) {
    let mut r = Renumber::recording();
    // Recording writes into scratch sections; errors cannot happen
    // (the re-encoder's error type is uninhabited).
    match item.clone() {
        Item::Module(_) | Item::Component(_) | Item::Custom { .. } => {}
        Item::CoreInstance(i) => {
            let _ = r.parse_instance(&mut wasm_encoder::InstanceSection::new(), i);
        }
        Item::CoreType(t) => {
            let mut s = wasm_encoder::CoreTypeSection::new();
            let _ = r.parse_component_core_type(s.ty(), t);
        }
        Item::Instance(i) => {
            let _ = r.parse_component_instance(&mut wasm_encoder::ComponentInstanceSection::new(), i);
        }
        Item::Alias(a) => {
            let _ = r.component_alias(a);
        }
        Item::Type(t) => {
            let mut s = wasm_encoder::ComponentTypeSection::new();
            let _ = r.parse_component_type(s.ty(), t);
        }
        Item::Canon(c) => {
            let _ = r.parse_component_canonical(&mut wasm_encoder::CanonicalFunctionSection::new(), c);
        }
        Item::Import(i) => {
            let _ = r.component_type_ref(i.ty);
        }
        Item::Export(e) => {
            let _ = r.parse_component_export(&mut wasm_encoder::ComponentExportSection::new(), e);
        }
        Item::Start(s) => {
            let _ = r.parse_component_start_section(&mut wasm_encoder::Component::new(), s);
        }
    }
    (r.refs, r.outer_refs)
}
