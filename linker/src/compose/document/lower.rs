//! The resolved composition graph, lowered into compose: each
//! instantiation a child (named by its `let`), each argument a [`Source`],
//! each exported node an export of the result.
//!
//! What weld does not lower is refused by name: an export of the result
//! that is an import or an export of an imported instance, an alias of an
//! alias, an exported type definition.

use std::collections::HashMap;

use wac_graph::{CompositionGraph, NodeId, NodeKind};
use weld_format::InputId;

use crate::compose::emit::ExtraExport;
use crate::compose::wire::{Children, Source};
use crate::resolve::Rule;

/// The children of a graph: one per instantiation node, in node order
/// (each after what it takes), with its name.
pub struct Instantiations {
    /// Node and child name.
    pub nodes: Vec<(NodeId, String)>,
    child_of: HashMap<NodeId, InputId>,
}

impl Instantiations {
    /// The instantiation nodes of `g`. An unnamed one (a `new` inside an
    /// argument or an export) is named `PACKAGE#N`.
    pub fn of(g: &CompositionGraph) -> Self {
        let mut nodes = Vec::new();
        let mut child_of = HashMap::new();
        let mut taken: std::collections::HashSet<String> =
            g.nodes().filter_map(|n| n.name().map(str::to_string)).collect();
        for id in g.node_ids() {
            let node = &g[id];
            let (NodeKind::Instantiation(_), Some(package)) = (node.kind(), node.package()) else {
                continue;
            };
            let package = &g[package];
            let name = match node.name() {
                Some(n) => n.to_string(),
                None => {
                    let mut k = 1;
                    loop {
                        let candidate = format!("{}#{k}", package.key());
                        if taken.insert(candidate.clone()) {
                            break candidate;
                        }
                        k += 1;
                    }
                }
            };
            child_of.insert(id, InputId(nodes.len() as u32));
            nodes.push((id, name));
        }
        Instantiations { nodes, child_of }
    }
}

/// Each child's sources and the result's exports. An error names the
/// child (its `let` name) and the argument or export weld cannot lower.
pub fn lower(
    g: &CompositionGraph,
    inst: &Instantiations,
    children: &Children<'_>,
) -> Result<(Vec<Vec<Source>>, Vec<ExtraExport>), Refusal> {
    let mut sources: Vec<Vec<Source>> = children
        .iter()
        .map(|(_, c)| vec![Source::Outer(None); c.imports.len()])
        .collect();
    for (i, (node, name)) in inst.nodes.iter().enumerate() {
        let child = &children[InputId(i as u32)];
        for (import, arg) in g.get_instantiation_arguments(*node) {
            let refuse = |why: String| Refusal {
                child: name.clone(),
                what: format!("argument `{import}`"),
                why,
            };
            let k = child
                .imports
                .get_index_of(import)
                .ok_or_else(|| refuse("the component has no such import".to_string()))?;
            sources[i][k] = match g[arg].kind() {
                NodeKind::Instantiation(_) => Source::Instance {
                    provider: inst.child_of[&arg],
                },
                NodeKind::Import(outer) if outer == import => Source::Outer(None),
                NodeKind::Import(outer) => Source::Outer(Some(outer.clone())),
                NodeKind::Alias => match g.get_alias_source(arg) {
                    // An export of an instance the result imports.
                    Some((source, export)) if matches!(g[source].kind(), NodeKind::Import(_)) => {
                        Source::OuterExport {
                            import: g[source].import_name().unwrap_or_default().to_string(),
                            export: export.to_string(),
                        }
                    }
                    _ => {
                        let (provider, export) = instance_export(g, inst, arg).map_err(refuse)?;
                        Source::Wire {
                            provider,
                            export,
                            rule: Rule::Wiring { semver: false },
                        }
                    }
                },
                NodeKind::Definition => {
                    return Err(refuse("a type definition is not an argument weld passes".into()))
                }
            };
        }
    }
    let mut exports = Vec::new();
    for id in g.node_ids() {
        let Some(as_name) = g[id].export_name() else {
            continue;
        };
        let refuse = |why: String| Refusal {
            child: String::new(),
            what: format!("export `{as_name}`"),
            why,
        };
        let (child, export) = match g[id].kind() {
            NodeKind::Instantiation(_) => (inst.child_of[&id], None),
            NodeKind::Alias => {
                let (c, e) = instance_export(g, inst, id).map_err(refuse)?;
                (c, Some(e))
            }
            NodeKind::Import(name) => {
                return Err(refuse(format!(
                    "re-exporting the import `{name}` is not supported; export what an instance gives"
                )))
            }
            NodeKind::Definition => {
                return Err(refuse(
                    "exporting a type definition from a composition is not supported".to_string(),
                ))
            }
        };
        exports.push(ExtraExport {
            child,
            export,
            as_name: as_name.to_string(),
        });
    }
    Ok((sources, exports))
}

/// The child and export an alias node names, when its source is an
/// instantiation.
fn instance_export(
    g: &CompositionGraph,
    inst: &Instantiations,
    alias: NodeId,
) -> Result<(InputId, String), String> {
    let Some((source, export)) = g.get_alias_source(alias) else {
        return Err("an alias without a source".to_string());
    };
    match g[source].kind() {
        NodeKind::Instantiation(_) => Ok((inst.child_of[&source], export.to_string())),
        NodeKind::Import(name) => Err(format!(
            "`{export}` is an export of the imported instance `{name}`; weld exports what instances the document creates export"
        )),
        NodeKind::Alias => Err(format!(
            "`{export}` is an export of an exported instance; weld passes exports of instances the document creates"
        )),
        NodeKind::Definition => Err(format!("`{export}` is not an export of an instance")),
    }
}

/// A construct of the document weld does not lower.
#[derive(Debug)]
pub struct Refusal {
    /// The child (its `let` name) whose argument it is; empty for exports.
    pub child: String,
    /// The argument or export.
    pub what: String,
    /// Why.
    pub why: String,
}
