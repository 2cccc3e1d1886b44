//! Compose's own part of wiring: which import of which child takes which
//! export (from [`crate::resolve`], the resolver every command shares), which
//! children are instantiated, and in what order.
//!
//! Only the root, what `--export` names, and what they need, transitively,
//! are instantiated. The order is the dependency graph's topological order
//! ([`ModuleGraph`]), whose cycle report names every edge. Cost: O(children +
//! imports).

use std::collections::VecDeque;

use indexmap::IndexMap;
use weld_format::InputId;

use crate::error::{ComposeError, Error};
use crate::resolve::graph::ModuleGraph;
pub(crate) use crate::resolve::Kind;
use crate::resolve::{Resolution, Rule, Target};

/// Where one import of one child comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Another child's export.
    Wire {
        /// The providing child.
        provider: usize,
        /// The export's name.
        export: String,
        /// How it was found.
        rule: Rule,
    },
    /// An import of the composed component.
    Outer,
}

/// The resolved wiring.
pub struct Wiring {
    /// `sources[child][import]`, imports in the child's order.
    pub sources: Vec<Vec<Source>>,
    /// The children to instantiate, in instantiation order.
    pub order: Vec<usize>,
    /// Children given but not instantiated (nothing uses them).
    pub unused: Vec<usize>,
}

/// What compose needs to know about one child: names and kinds, from the
/// survey (no validation).
pub struct Child<'a> {
    /// Its name.
    pub name: &'a str,
    /// Which distinct content it has.
    pub content: usize,
    /// Its imports, in order.
    pub imports: IndexMap<&'a str, Kind>,
    /// Its exports, in order.
    pub exports: IndexMap<&'a str, Kind>,
}

impl<'a> Child<'a> {
    /// The facts of a surveyed component.
    pub fn new(name: &'a str, content: usize, c: &weld_format::ComponentSurvey<'a>) -> Self {
        Child {
            name,
            content,
            imports: c
                .imports
                .iter()
                .map(|i| (i.name.name, Kind::of_import(&i.ty)))
                .collect(),
            exports: c
                .exports
                .iter()
                .map(|e| (e.name.name, Kind::of_export(e.kind)))
                .collect(),
        }
    }
}

/// Turns the resolver's answer into sources, then orders the children.
/// `roots` are the children that must be instantiated (the root and those
/// `--export` names). Any problem the resolver reported is the error.
pub fn wire(children: &[Child<'_>], resolution: Resolution, roots: &[usize]) -> Result<Wiring, Error> {
    if !resolution.problems.is_empty() {
        return Err(ComposeError::Links(resolution.problems).into());
    }
    let sources: Vec<Vec<Source>> = resolution
        .targets
        .iter()
        .map(|row| {
            row.iter()
                .map(|t| match t {
                    Target::Input {
                        provider,
                        export,
                        rule,
                    } => Source::Wire {
                        provider: provider.as_usize(),
                        export: children[provider.as_usize()]
                            .exports
                            .get_index(*export as usize)
                            .map(|(n, _)| n.to_string())
                            .expect("the resolver indexes exports of the same survey"),
                        rule: rule.clone(),
                    },
                    _ => Source::Outer,
                })
                .collect()
        })
        .collect();

    // Only what the roots need is instantiated.
    let mut used = vec![false; children.len()];
    let mut queue: VecDeque<usize> = roots.iter().copied().collect();
    for &r in roots {
        used[r] = true;
    }
    while let Some(i) = queue.pop_front() {
        for s in &sources[i] {
            if let Source::Wire { provider, .. } = s {
                if !used[*provider] {
                    used[*provider] = true;
                    queue.push_back(*provider);
                }
            }
        }
    }

    // Order (and cycles) over the used children.
    let targets: Vec<Vec<Target>> = resolution
        .targets
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            row.into_iter()
                .map(|t| match t {
                    Target::Input { .. } if used[i] => t,
                    _ => Target::Unresolved {
                        reason: String::new(),
                    },
                })
                .collect()
        })
        .collect();
    let graph = ModuleGraph::build(&targets);
    let order = graph.order(
        |i| children[i.as_usize()].name.to_string(),
        |i, k| {
            children[i.as_usize()]
                .imports
                .get_index(k as usize)
                .map(|(n, _)| n.to_string())
                .unwrap_or_default()
        },
    )?;
    let order: Vec<usize> = order
        .into_iter()
        .map(InputId::as_usize)
        .filter(|&i| used[i])
        .collect();
    let unused = (0..children.len()).filter(|&i| !used[i]).collect();
    Ok(Wiring {
        sources,
        order,
        unused,
    })
}
