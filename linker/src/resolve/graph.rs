//! Stage 3, **graph**: resolved targets → [`ModuleGraph`]: cycles and instantiation order.
//!
//! One node per input, one edge per resolved import, pointing from the
//! importer to the provider (the importer depends on it).
//!
//! **Cycles.** `tarjan_scc` finds the strongly connected components; every
//! edge inside a non-trivial component lies on some cycle. The report covers
//! every such edge: for each module-level edge `u -> v` not yet covered, the
//! shortest path `v ->* u` (BFS inside the component) closes a cycle, whose
//! edges are then marked covered. So
//! `a -> b -> c -> a` beside `a -> c` reports two cycles,
//! `a imports b.f -> b imports c.g -> c imports a.h` and
//! `a imports c.k -> c imports a.h`. It terminates because every round covers
//! at least one new edge; it costs one BFS per reported cycle, capped at
//! [`MAX_REPORTED_CYCLES`](crate::limits::MAX_REPORTED_CYCLES).
//!
//! **Order.** Kahn's algorithm with a min-heap of ready nodes: a provider
//! comes before its importers, and among ready nodes the earliest on the
//! command line goes first. O((V + E) log V).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::fmt;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::Serialize;
use weld_format::InputId;

use crate::limits::MAX_REPORTED_CYCLES;
use crate::resolve::{Rule, Target};

/// The dependency graph cannot be instantiated.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Inputs import each other in a cycle; every cycle is listed.
    #[error("{}", format_cycles(.cycles, *.more))]
    Cycles {
        /// Every cycle found, each as its edges in order.
        cycles: Vec<Cycle>,
        /// Edges on cycles left out of the list (over the reporting cap).
        more: usize,
    },
}

fn format_cycles(cycles: &[Cycle], more: usize) -> String {
    // One line: the cycles separated by `;`.
    let mut s = format!(
        "{} import cycle{} (inputs in a cycle cannot be instantiated one by one): ",
        cycles.len(),
        if cycles.len() == 1 { "" } else { "s" }
    );
    let listed: Vec<String> = cycles.iter().map(Cycle::to_string).collect();
    s.push_str(&listed.join("; "));
    if more > 0 {
        s.push_str(&format!("; ... and {more} more edges on cycles"));
    }
    s
}

/// An edge: input `from` imports (its import number `import`) the export
/// number `export` of input `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The position of the import in the importer's import list.
    pub import: u32,
    /// The position of the export in the provider's export list.
    pub export: u32,
    /// How the provider was found.
    pub rule: Rule,
}

/// The dependency graph of the inputs.
///
/// Nodes: one per input, holding its [`InputId`] (node `i` is input `i`).
/// Edges: one per resolved import, importer → provider, holding a
/// [`Dependency`]. Unresolved and host imports have no edge.
#[derive(Debug, Clone)]
pub struct ModuleGraph {
    g: DiGraph<InputId, Dependency>,
}

/// One edge of a reported cycle, with names for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CycleEdge {
    /// The importing input's name.
    pub from: String,
    /// The import as written (`b.f` for core, the extern name for components).
    pub import: String,
    /// The providing input's name.
    pub to: String,
    /// How many more imports run the same way between these two inputs.
    pub parallel: usize,
}

/// A cycle: edges in order, the last one returning to the first importer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cycle {
    /// The edges.
    pub edges: Vec<CycleEdge>,
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.edges.iter().enumerate() {
            if i > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "{} imports {}", e.from, e.import)?;
            if e.parallel > 0 {
                write!(f, " (and {} more from {})", e.parallel, e.to)?;
            }
        }
        Ok(())
    }
}

impl ModuleGraph {
    /// Builds the graph of `n` inputs from their resolved imports.
    pub fn build(targets: &[Vec<Target>]) -> ModuleGraph {
        let n = targets.len();
        let mut g = DiGraph::with_capacity(n, 0);
        for i in 0..n {
            g.add_node(InputId(i as u32));
        }
        for (i, targets) in targets.iter().enumerate() {
            for (k, t) in targets.iter().enumerate() {
                if let Target::Input {
                    provider,
                    export,
                    rule,
                } = t
                {
                    g.add_edge(
                        NodeIndex::new(i),
                        NodeIndex::new(provider.as_usize()),
                        Dependency {
                            import: k as u32,
                            export: *export,
                            rule: rule.clone(),
                        },
                    );
                }
            }
        }
        ModuleGraph { g }
    }

    /// Every edge: (importer, provider, dependency), in insertion order
    /// (by importer, then by import).
    pub fn edges(&self) -> impl Iterator<Item = (InputId, InputId, Dependency)> + '_ {
        self.g
            .edge_references()
            .map(|e| (self.g[e.source()], self.g[e.target()], e.weight().clone()))
    }

    /// Every cycle, covering every edge that lies on one. `label(input,
    /// import)` names an import for display; `name(input)` names an input.
    pub fn cycles(
        &self,
        name: impl Fn(InputId) -> String,
        label: impl Fn(InputId, u32) -> String,
    ) -> (Vec<Cycle>, usize) {
        let mut cycles = Vec::new();
        let mut uncovered_left = 0usize;
        for scc in tarjan_scc(&self.g) {
            let members: HashSet<NodeIndex> = scc.iter().copied().collect();
            // Module-level edges inside the component: the first import per
            // (importer, provider) pair represents it; count the rest.
            let mut rep_of: HashMap<(NodeIndex, NodeIndex), EdgeIndex> = HashMap::new();
            let mut parallel: HashMap<(NodeIndex, NodeIndex), usize> = HashMap::new();
            for &u in &scc {
                for e in self.g.edges_directed(u, Direction::Outgoing) {
                    let v = e.target();
                    if !members.contains(&v) {
                        continue;
                    }
                    let rep = rep_of.entry((u, v)).or_insert(e.id());
                    if self.g[e.id()].import < self.g[*rep].import {
                        *rep = e.id();
                    }
                    *parallel.entry((u, v)).or_insert(0) += 1;
                }
            }
            if rep_of.is_empty() {
                continue; // a single node without a self-import
            }
            for c in parallel.values_mut() {
                *c -= 1;
            }
            // Report in importer order, then import order.
            let mut reps: Vec<(NodeIndex, NodeIndex, EdgeIndex)> =
                rep_of.iter().map(|(&(u, v), &e)| (u, v, e)).collect();
            reps.sort_by_key(|&(u, _, e)| (u, self.g[e].import));
            let mut covered: HashSet<(NodeIndex, NodeIndex)> = HashSet::new();
            for &(u, v, _) in &reps {
                if covered.contains(&(u, v)) {
                    continue;
                }
                if cycles.len() >= MAX_REPORTED_CYCLES {
                    uncovered_left += 1;
                    continue;
                }
                // Close the cycle u -> v ->* u with a shortest path.
                let mut path = vec![u];
                path.extend(self.shortest_path(v, u, &members));
                let edges = path
                    .windows(2)
                    .map(|w| {
                        let (a, b) = (w[0], w[1]);
                        covered.insert((a, b));
                        let e = rep_of[&(a, b)];
                        CycleEdge {
                            from: name(self.g[a]),
                            import: label(self.g[a], self.g[e].import),
                            to: name(self.g[b]),
                            parallel: parallel[&(a, b)],
                        }
                    })
                    .collect();
                cycles.push(Cycle { edges });
            }
        }
        (cycles, uncovered_left)
    }

    /// The nodes of a shortest path from `from` to `to` inside `members`,
    /// both ends included; `[to]` when they are equal (a self-import).
    fn shortest_path(&self, from: NodeIndex, to: NodeIndex, members: &HashSet<NodeIndex>) -> Vec<NodeIndex> {
        if from == to {
            return vec![to];
        }
        let mut prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        prev.insert(from, from);
        while let Some(x) = queue.pop_front() {
            let mut next: Vec<NodeIndex> = self
                .g
                .neighbors_directed(x, Direction::Outgoing)
                .filter(|y| members.contains(y) && !prev.contains_key(y))
                .collect();
            next.sort();
            next.dedup();
            for y in next {
                prev.insert(y, x);
                if y == to {
                    let mut path = vec![to];
                    let mut cur = to;
                    while cur != from {
                        cur = prev[&cur];
                        path.push(cur);
                    }
                    path.reverse();
                    return path;
                }
                queue.push_back(y);
            }
        }
        // Unreachable inside a strongly connected component.
        vec![from, to]
    }

    /// The instantiation order: providers before importers, ties by input
    /// position. Fails with every cycle when there is one.
    pub fn order(
        &self,
        name: impl Fn(InputId) -> String,
        label: impl Fn(InputId, u32) -> String,
    ) -> Result<Vec<InputId>, GraphError> {
        let n = self.g.node_count();
        let mut waiting: Vec<usize> = (0..n)
            .map(|i| {
                self.g
                    .edges_directed(NodeIndex::new(i), Direction::Outgoing)
                    .count()
            })
            .collect();
        let mut ready: BinaryHeap<Reverse<usize>> =
            (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(i)) = ready.pop() {
            order.push(InputId(i as u32));
            for e in self.g.edges_directed(NodeIndex::new(i), Direction::Incoming) {
                let importer = e.source().index();
                waiting[importer] -= 1;
                if waiting[importer] == 0 {
                    ready.push(Reverse(importer));
                }
            }
        }
        if order.len() == n {
            return Ok(order);
        }
        let (cycles, more) = self.cycles(name, label);
        Err(GraphError::Cycles { cycles, more })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds links from `(importer, provider)` pairs among `n` inputs.
    fn links(n: usize, deps: &[(u32, u32)]) -> Vec<Vec<Target>> {
        let mut targets = vec![Vec::new(); n];
        for &(from, to) in deps {
            targets[from as usize].push(Target::Input {
                provider: InputId(to),
                export: 0,
                rule: Rule::Exact,
            });
        }
        targets
    }

    fn names(i: InputId) -> String {
        ["a", "b", "c", "d", "e"][i.as_usize()].to_string()
    }

    fn label(i: InputId, k: u32) -> String {
        format!("{}{}", names(i), k)
    }

    #[test]
    fn order_puts_providers_first_with_ties_by_position() {
        // a imports b, b imports c; d is free.
        let g = ModuleGraph::build(&links(4, &[(0, 1), (1, 2)]));
        let order = g.order(names, label).unwrap();
        assert_eq!(order, [InputId(2), InputId(1), InputId(0), InputId(3)]);
    }

    #[test]
    fn diamond_order() {
        // a imports b and c; b and c import d.
        let g = ModuleGraph::build(&links(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]));
        let order: Vec<String> = g.order(names, label).unwrap().into_iter().map(names).collect();
        assert_eq!(order, ["d", "b", "c", "a"]);
    }

    #[test]
    fn rejects_cycle_listing_every_edge() {
        let g = ModuleGraph::build(&links(3, &[(0, 1), (1, 2), (2, 0)]));
        let err = g.order(names, label).unwrap_err();
        let GraphError::Cycles { cycles, more } = err;
        assert_eq!(more, 0);
        assert_eq!(cycles.len(), 1);
        assert_eq!(
            cycles[0].to_string(),
            "a imports a0 -> b imports b0 -> c imports c0"
        );
    }

    #[test]
    fn every_edge_on_a_cycle_is_reported() {
        // a -> b -> c -> a and the chord a -> c; plus an unrelated self-import of d.
        let g = ModuleGraph::build(&links(4, &[(0, 1), (1, 2), (2, 0), (0, 2), (3, 3)]));
        let (cycles, more) = g.cycles(names, label);
        assert_eq!(more, 0);
        let text: Vec<String> = cycles.iter().map(|c| c.to_string()).collect();
        let mut edges: Vec<(String, String)> = cycles
            .iter()
            .flat_map(|c| c.edges.iter().map(|e| (e.from.clone(), e.to.clone())))
            .collect();
        edges.sort();
        edges.dedup();
        let want = [("a", "b"), ("a", "c"), ("b", "c"), ("c", "a"), ("d", "d")];
        assert_eq!(
            edges,
            want.map(|(x, y)| (x.to_string(), y.to_string())),
            "{text:?}"
        );
        assert!(text.contains(&"d imports d0".to_string()), "{text:?}");
    }

    #[test]
    fn parallel_imports_are_counted_not_repeated() {
        let g = ModuleGraph::build(&links(2, &[(0, 1), (0, 1), (1, 0)]));
        let (cycles, _) = g.cycles(names, label);
        assert_eq!(cycles.len(), 1);
        assert_eq!(
            cycles[0].to_string(),
            "a imports a0 (and 1 more from b) -> b imports b0"
        );
    }
}
