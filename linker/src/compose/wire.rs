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
use weld_format::{ContentId, InputId};

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
        provider: InputId,
        /// The export's name.
        export: String,
        /// How it was found.
        rule: Rule,
    },
    /// The whole instance of another child (a WAC argument naming an
    /// instance: `new pkg { api: other }`).
    #[cfg_attr(not(feature = "wac"), allow(dead_code))]
    Instance {
        /// The providing child.
        provider: InputId,
    },
    /// An import of the composed component: under the child's own import
    /// name (`None`), or under this name (a WAC `import` statement).
    Outer(Option<String>),
    /// An export of an instance the composed component imports (a WAC
    /// argument `i.f`, or a spread `...i`, of an `import i`).
    #[cfg_attr(not(feature = "wac"), allow(dead_code))]
    OuterExport {
        /// The import of the result, an instance.
        import: String,
        /// Its export.
        export: String,
    },
}

impl Source {
    /// The child that provides the argument, when another child does.
    pub fn provider(&self) -> Option<InputId> {
        match self {
            Source::Wire { provider, .. } | Source::Instance { provider } => Some(*provider),
            Source::Outer(_) | Source::OuterExport { .. } => None,
        }
    }

    /// Whether the argument is (or is in) an import of the result.
    pub fn is_outer(&self) -> bool {
        matches!(self, Source::Outer(_) | Source::OuterExport { .. })
    }
}

/// The resolved wiring.
pub struct Wiring {
    /// Every child's sources, imports in the child's order.
    sources: Vec<Vec<Source>>,
    /// The children to instantiate, in instantiation order.
    pub order: Vec<InputId>,
    /// Children given but not instantiated (nothing uses them).
    pub unused: Vec<InputId>,
}

impl Wiring {
    /// Where each import of child `c` comes from, in its import order.
    pub fn sources(&self, c: InputId) -> &[Source] {
        &self.sources[c.as_usize()]
    }
}

/// The children, one per input (a child is an input), indexed by [`InputId`].
pub struct Children<'a>(pub Vec<Child<'a>>);

impl<'a> std::ops::Index<InputId> for Children<'a> {
    type Output = Child<'a>;
    fn index(&self, c: InputId) -> &Child<'a> {
        &self.0[c.as_usize()]
    }
}

impl<'a> Children<'a> {
    /// The number of children.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Every child with its id, in input order.
    pub fn iter(&self) -> impl Iterator<Item = (InputId, &Child<'a>)> {
        self.0.iter().enumerate().map(|(i, c)| (InputId(i as u32), c))
    }
}

/// What compose needs to know about one child: names and kinds, from the
/// survey (no validation).
pub struct Child<'a> {
    /// Its name.
    pub name: &'a str,
    /// Which distinct content it has.
    pub content: ContentId,
    /// Its imports, in order.
    pub imports: IndexMap<&'a str, Kind>,
    /// Its exports, in order.
    pub exports: IndexMap<&'a str, Kind>,
}

impl<'a> Child<'a> {
    /// The facts of a surveyed component.
    pub fn new(name: &'a str, content: ContentId, c: &weld_format::ComponentSurvey<'a>) -> Self {
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
pub fn wire(children: &Children<'_>, resolution: Resolution, roots: &[InputId]) -> Result<Wiring, Error> {
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
                        provider: *provider,
                        export: children[*provider]
                            .exports
                            .get_index(*export as usize)
                            .map(|(n, _)| n.to_string())
                            .expect("the resolver indexes exports of the same survey"),
                        rule: rule.clone(),
                    },
                    _ => Source::Outer(None),
                })
                .collect()
        })
        .collect();
    order(children, sources, roots)
}

/// Orders the children given every import's source: only the roots and
/// what they need, transitively, in dependency order (a cycle is the
/// error, every edge named).
pub fn order(children: &Children<'_>, sources: Vec<Vec<Source>>, roots: &[InputId]) -> Result<Wiring, Error> {
    // Only what the roots need is instantiated.
    let mut used = vec![false; children.len()];
    let mut queue: VecDeque<InputId> = roots.iter().copied().collect();
    for &r in roots {
        used[r.as_usize()] = true;
    }
    while let Some(i) = queue.pop_front() {
        for s in &sources[i.as_usize()] {
            if let Some(provider) = s.provider() {
                if !used[provider.as_usize()] {
                    used[provider.as_usize()] = true;
                    queue.push_back(provider);
                }
            }
        }
    }

    // Order (and cycles) over the used children.
    let targets: Vec<Vec<Target>> = sources
        .iter()
        .enumerate()
        .map(|(i, row)| {
            row.iter()
                .map(|s| match s.provider() {
                    Some(provider) if used[i] => Target::Input {
                        provider,
                        export: 0,
                        rule: Rule::Exact,
                    },
                    _ => Target::Unresolved {
                        reason: String::new(),
                    },
                })
                .collect()
        })
        .collect();
    let graph = ModuleGraph::build(&targets);
    let order = graph.order(
        |i| children[i].name.to_string(),
        |i, k| {
            children[i]
                .imports
                .get_index(k as usize)
                .map(|(n, _)| n.to_string())
                .unwrap_or_default()
        },
    )?;
    let order: Vec<InputId> = order.into_iter().filter(|i| used[i.as_usize()]).collect();
    let unused = children
        .iter()
        .map(|(i, _)| i)
        .filter(|i| !used[i.as_usize()])
        .collect();
    Ok(Wiring {
        sources,
        order,
        unused,
    })
}
