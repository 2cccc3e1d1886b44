//! Part of `flatten`: the component's items → the groups of core instances
//! wired to each other core-to-core ([`find`]), and what feeds each core
//! item ([`Origins::origin`]).
//!
//! Two instances are in one group when one is an instantiation argument of
//! the other, directly or through an instance of exports that aliases the
//! other's exports. Canonical functions are not core-to-core: a lowering
//! whose options name a group's memory stays a boundary (see
//! [`super::bind`]). Cost: O(items · α) with a union-find.

use rustc_hash::FxHashMap as HashMap;
use wasmparser::{ComponentAlias, ExternalKind, Instance};

use super::read::{Item, Items, Sort};

/// Where a core item comes from, followed through aliases and instances of
/// exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Origin<'a> {
    /// Export `name` of instantiated core instance `instance`.
    Export { instance: u32, name: &'a str },
    /// Defined by the item at this position (a canonical function).
    Item(usize),
    /// Nothing defines it (out of range, or a loop).
    Unknown,
}

/// Finds the definer of every item and follows core items to their origin.
#[derive(Debug)]
pub(crate) struct Origins<'i, 'a> {
    pub items: &'i Items<'a>,
    /// (sort, index) → position of the defining item.
    pub definer: HashMap<(Sort, u32), usize>,
}

impl<'i, 'a> Origins<'i, 'a> {
    pub(crate) fn new(items: &'i Items<'a>) -> Self {
        let definer = items
            .defines
            .iter()
            .enumerate()
            .filter_map(|(p, d)| d.map(|d| (d, p)))
            .collect();
        Origins { items, definer }
    }

    /// The item of core instance `i`, if it is one.
    pub(crate) fn core_instance(&self, i: u32) -> Option<&'i Instance<'a>> {
        match self
            .definer
            .get(&(Sort::CoreInstance, i))
            .map(|&p| &self.items.items[p])
        {
            Some(Item::CoreInstance(inst)) => Some(inst),
            _ => None,
        }
    }

    /// Whether core instance `i` instantiates a module.
    pub(crate) fn is_instantiation(&self, i: u32) -> bool {
        matches!(self.core_instance(i), Some(Instance::Instantiate { .. }))
    }

    /// Export `name` of core instance `i`, followed: an instance of exports
    /// is looked through.
    pub(crate) fn export_of(&self, i: u32, name: &'a str, depth: u32) -> Option<Origin<'a>> {
        match self.core_instance(i)? {
            Instance::Instantiate { .. } => Some(Origin::Export { instance: i, name }),
            Instance::FromExports(exports) => {
                let e = exports.iter().find(|e| e.name == name)?;
                Some(self.origin(Sort::of_core(e.kind), e.index, depth + 1))
            }
        }
    }

    /// The origin of core item `index` of `sort`.
    pub(crate) fn origin(&self, sort: Sort, index: u32, depth: u32) -> Origin<'a> {
        if depth > 64 {
            return Origin::Unknown;
        }
        let Some(&p) = self.definer.get(&(sort, index)) else {
            return Origin::Unknown;
        };
        match &self.items.items[p] {
            Item::Alias(ComponentAlias::CoreInstanceExport {
                instance_index, name, ..
            }) => self
                .export_of(*instance_index, name, depth + 1)
                .unwrap_or(Origin::Unknown),
            _ => Origin::Item(p),
        }
    }

    /// The kind of a core item's sort, for instances of exports.
    pub(crate) fn kind_of(sort: Sort) -> Option<ExternalKind> {
        Some(match sort {
            Sort::CoreFunc => ExternalKind::Func,
            Sort::CoreTable => ExternalKind::Table,
            Sort::CoreMemory => ExternalKind::Memory,
            Sort::CoreGlobal => ExternalKind::Global,
            Sort::CoreTag => ExternalKind::Tag,
            _ => return None,
        })
    }
}

/// A union-find over core instance indices.
struct Unions(Vec<u32>);

impl Unions {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let up = self.0[self.0[x as usize] as usize];
            self.0[x as usize] = up;
            x = up;
        }
        x
    }

    fn join(&mut self, a: u32, b: u32) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            // The smaller index leads, so groups come out in order.
            let (lo, hi) = (a.min(b), a.max(b));
            self.0[hi as usize] = lo;
        }
    }
}

/// The groups of instantiated core instances wired core-to-core, each in
/// instantiation order, groups in order of their first instance. Groups of
/// one instance are left out: there is nothing to link.
pub(crate) fn find(o: &Origins<'_, '_>) -> Vec<Vec<u32>> {
    let n = o.items.counts[Sort::CoreInstance.slot()];
    let mut u = Unions((0..n).collect());
    for i in 0..n {
        let Some(Instance::Instantiate { args, .. }) = o.core_instance(i) else {
            continue;
        };
        for a in args.iter() {
            for j in instances_behind(o, a.index) {
                if j < n {
                    u.join(i, j);
                }
            }
        }
    }
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut at: HashMap<u32, usize> = HashMap::default();
    for i in 0..n {
        if !o.is_instantiation(i) {
            continue;
        }
        let root = u.find(i);
        let g = *at.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups.retain(|g| g.len() > 1);
    groups
}

/// The instantiated instances an argument instance stands for: itself, or
/// those whose exports an instance of exports aliases.
fn instances_behind(o: &Origins<'_, '_>, arg: u32) -> Vec<u32> {
    match o.core_instance(arg) {
        Some(Instance::Instantiate { .. }) => vec![arg],
        Some(Instance::FromExports(exports)) => exports
            .iter()
            .filter_map(|e| match o.origin(Sort::of_core(e.kind), e.index, 0) {
                Origin::Export { instance, .. } => Some(instance),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    }
}
