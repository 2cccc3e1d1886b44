//! Part of `flatten`: reading and rewriting the indices a component item
//! refers to ([`Renumber`]), with wasm-encoder's component re-encoder.
//!
//! One re-encoder does both jobs: with no maps it records every top-level
//! index an item names (its dependencies); with maps it writes the item with
//! each index replaced. Indices inside type declarations belong to the
//! type's own scope and are left alone (an outer alias out of a type scope
//! to the top level is mapped). An outer alias past the component's top
//! level names an enclosing component's item: it is recorded apart and
//! mapped by that component's maps. Cost: O(size of the item).

use std::convert::Infallible;

use wasm_encoder::reencode::{Error, Reencode, ReencodeComponent};

use super::read::Sort;

/// Old index → new index, per sort ([`GONE`] for an item not written).
pub(crate) type Maps = [Vec<u32>; 13];

/// An index of an item not written.
pub(crate) const GONE: u32 = u32::MAX;

/// Records or rewrites the top-level indices of one item at a time.
#[derive(Debug, Default)]
pub(crate) struct Renumber<'m> {
    /// The maps; `None` only records.
    pub maps: Option<&'m Maps>,
    /// Type scopes entered.
    depth: u32,
    /// Every top-level index named, in order.
    pub refs: Vec<(Sort, u32)>,
    /// Every index of an enclosing component named: (levels out, sort,
    /// index).
    pub outer_refs: Vec<(u32, Sort, u32)>,
    /// The enclosing components' maps, innermost first (empty: identity).
    pub outer_maps: &'m [&'m Maps],
    /// The first index without a mapping.
    pub unmapped: Option<(Sort, u32)>,
}

impl<'m> Renumber<'m> {
    pub(crate) fn recording() -> Self {
        Renumber::default()
    }

    pub(crate) fn mapping(maps: &'m Maps, outer_maps: &'m [&'m Maps]) -> Self {
        Renumber {
            maps: Some(maps),
            outer_maps,
            ..Renumber::default()
        }
    }

    /// Index `i` of `sort` at type depth `at` (0: the top level).
    fn map_at(&mut self, sort: Sort, i: u32, at: u32) -> u32 {
        if at != self.depth {
            return i;
        }
        self.refs.push((sort, i));
        match self.maps {
            None => i,
            Some(m) => match m[sort.slot()].get(i as usize).copied() {
                Some(n) if n != GONE => n,
                _ => {
                    self.unmapped.get_or_insert((sort, i));
                    i
                }
            },
        }
    }

    fn map(&mut self, sort: Sort, i: u32) -> u32 {
        self.map_at(sort, i, self.depth)
    }
}

impl Reencode for Renumber<'_> {
    type Error = Infallible;

    fn function_index(&mut self, i: u32) -> Result<u32, Error<Infallible>> {
        Ok(self.top(Sort::CoreFunc, i))
    }
    fn global_index(&mut self, i: u32) -> Result<u32, Error<Infallible>> {
        Ok(self.top(Sort::CoreGlobal, i))
    }
    fn memory_index(&mut self, i: u32) -> Result<u32, Error<Infallible>> {
        Ok(self.top(Sort::CoreMemory, i))
    }
    fn table_index(&mut self, i: u32) -> Result<u32, Error<Infallible>> {
        Ok(self.top(Sort::CoreTable, i))
    }
    fn tag_index(&mut self, i: u32) -> Result<u32, Error<Infallible>> {
        Ok(self.top(Sort::CoreTag, i))
    }
    fn type_index(&mut self, i: u32) -> Result<u32, Error<Infallible>> {
        Ok(self.top(Sort::CoreType, i))
    }
}

impl Renumber<'_> {
    /// A top-level index (only at depth 0; inside a type scope, the scope's).
    fn top(&mut self, sort: Sort, i: u32) -> u32 {
        if self.depth == 0 {
            self.map(sort, i)
        } else {
            i
        }
    }

    /// An outer alias `count` scopes out.
    fn outer(&mut self, sort: Sort, count: u32, i: u32) -> u32 {
        if count < self.depth {
            return i;
        }
        if count == self.depth {
            return self.map_at(sort, i, self.depth);
        }
        let up = count - self.depth;
        self.outer_refs.push((up, sort, i));
        match self.outer_maps.get(up as usize - 1) {
            None => i,
            Some(m) => match m[sort.slot()].get(i as usize).copied() {
                Some(n) if n != GONE => n,
                _ => {
                    self.unmapped.get_or_insert((sort, i));
                    i
                }
            },
        }
    }
}

impl ReencodeComponent for Renumber<'_> {
    fn component_type_index(&mut self, i: u32) -> u32 {
        self.top(Sort::Type, i)
    }
    fn component_instance_index(&mut self, i: u32) -> u32 {
        self.top(Sort::Instance, i)
    }
    fn component_func_index(&mut self, i: u32) -> u32 {
        self.top(Sort::Func, i)
    }
    fn component_index(&mut self, i: u32) -> u32 {
        self.top(Sort::Component, i)
    }
    fn module_index(&mut self, i: u32) -> u32 {
        self.top(Sort::CoreModule, i)
    }
    fn instance_index(&mut self, i: u32) -> u32 {
        self.top(Sort::CoreInstance, i)
    }
    fn component_value_index(&mut self, i: u32) -> u32 {
        self.top(Sort::Value, i)
    }
    fn outer_type_index(&mut self, count: u32, i: u32) -> Result<u32, Error<Infallible>> {
        Ok(self.outer(Sort::CoreType, count, i))
    }
    fn outer_component_type_index(&mut self, count: u32, i: u32) -> u32 {
        self.outer(Sort::Type, count, i)
    }
    fn outer_component_index(&mut self, count: u32, i: u32) -> u32 {
        self.outer(Sort::Component, count, i)
    }
    fn outer_module_index(&mut self, count: u32, i: u32) -> u32 {
        self.outer(Sort::CoreModule, count, i)
    }
    fn push_depth(&mut self) {
        self.depth += 1;
    }
    fn pop_depth(&mut self) {
        self.depth -= 1;
    }
}
