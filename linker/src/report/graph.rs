//! `weld graph`: load → survey → resolve → graph, as a report in text, DOT or
//! JSON.
//!
//! A set of shared libraries (every input a core module with `dylink.0`) is
//! resolved as `weld link` resolves it: the `needed` closure (with
//! `--lib-dir`), then every import bound by symbol. The report then shows
//! the symbol edges (importer → provider, the symbol, the rule), the init
//! order, the load order, undefined symbols as unresolved, imports link
//! cannot bind as problems, and duplicate definitions as warnings.
//!
//! Cost: one survey per input and one resolution, O(imports + exports).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use weld_format::{Input, InputId, Inputs, Item, Survey};

use crate::link::{LibraryFault, LinkError};
use crate::resolve::graph::{Cycle, ModuleGraph};
use crate::resolve::needed::{self, is_library_set, Closure};
use crate::resolve::symbols::{resolve_symbols, Provider};
use crate::resolve::{resolve, HostMap, ResolveOptions, Target};
use crate::Error;
use weld_format::survey::survey_all;
use weld_format::wat::{export_label, import_label};

/// Options for [`graph`].
#[derive(Debug, Clone, Default)]
pub struct GraphOptions {
    /// How imports are resolved.
    pub resolve: ResolveOptions,
    /// Shared libraries: where `needed` libraries not among the inputs are
    /// found, as `weld link --lib-dir` finds them.
    pub lib_dirs: Vec<PathBuf>,
}

/// One input.
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    /// Its link name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// `module` or `component`.
    pub kind: String,
    /// Number of imports.
    pub imports: usize,
    /// Number of exports.
    pub exports: usize,
}

/// One resolved import.
#[derive(Debug, Clone, Serialize)]
pub struct EdgeReport {
    /// The importer.
    pub from: String,
    /// The import (`b.f` for core modules, the extern name for components).
    pub import: String,
    /// The provider.
    pub to: String,
    /// The provider's export name.
    pub export: String,
    /// `exact` or `semver`.
    pub rule: String,
}

/// One import of a shared library, bound by symbol.
#[derive(Debug, Clone, Serialize)]
pub struct SymbolEdgeReport {
    /// The importer.
    pub from: String,
    /// The import (`env.puts`, `GOT.mem.errno`).
    pub import: String,
    /// The provider: a library, or `weld:link` for what the linker
    /// defines.
    pub to: String,
    /// The symbol.
    pub symbol: String,
    /// `symbol` (the first definition in load order), `linker` or
    /// `weak undefined`.
    pub rule: String,
}

/// One import left unresolved.
#[derive(Debug, Clone, Serialize)]
pub struct UnresolvedReport {
    /// The importer.
    pub input: String,
    /// The import.
    pub import: String,
    /// Why it stays an import.
    pub reason: String,
}

/// The dependency graph of a set of inputs.
#[derive(Debug, Clone, Serialize)]
pub struct GraphReport {
    /// Every input, in command-line order.
    pub nodes: Vec<NodeReport>,
    /// Every resolved import.
    pub edges: Vec<EdgeReport>,
    /// Shared libraries: every import bound by symbol, importers in input
    /// order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<SymbolEdgeReport>,
    /// The instantiation order (empty when there are cycles); for shared
    /// libraries, the init order.
    pub order: Vec<String>,
    /// Shared libraries: the load order, which symbols are looked up in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load_order: Vec<String>,
    /// Every cycle (empty when the graph is instantiable).
    pub cycles: Vec<Cycle>,
    /// Edges on cycles beyond the reporting cap.
    pub more_cycle_edges: usize,
    /// Imports nothing among the inputs provides (host imports excluded).
    pub unresolved: Vec<UnresolvedReport>,
    /// Host imports per input and namespace.
    pub host_imports: Vec<UnresolvedReport>,
    /// What `link` would warn about: symbols two libraries define.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What `compose` (or `fuse`) would refuse about this wiring: wiring
    /// entries that name nothing, two different providers for one import,
    /// a provider of the wrong kind. One line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Builds the dependency graph of the inputs: nodes, resolved edges with the
/// rule that matched, cycles, instantiation order, unresolved imports.
/// A cycle is not an error here: it is part of the report (see
/// [`GraphReport::cycles`]).
///
/// ```
/// use weld_format::Inputs;
/// let inputs = Inputs::from_memory([
///     ("a", br#"(module (import "b" "f" (func)))"#.to_vec()),
///     ("b", br#"(module (func (export "f")))"#.to_vec()),
/// ]).unwrap();
/// let report = weld_linker::graph(&Default::default(), &inputs).unwrap();
/// assert_eq!(report.order, ["b", "a"]);
/// assert_eq!(report.edges[0].rule, "exact");
/// ```
pub fn graph(opts: &GraphOptions, inputs: &Inputs) -> Result<GraphReport, Error> {
    // Survey every input in parallel; the first malformed one (in order) stops us.
    let surveys = survey_all(inputs)?;
    // Shared libraries resolve by symbol, as `weld link` resolves them.
    if is_library_set(&surveys) {
        return library_graph(&opts.lib_dirs, inputs, surveys);
    }
    let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    // Resolve every import to a provider, a host namespace or nothing.
    let links = resolve(&opts.resolve, &names, &surveys.iter().collect::<Vec<_>>());
    let graph = ModuleGraph::build(&links.targets);

    let name = |i: InputId| names[i.as_usize()].to_string();
    let label = |i: InputId, k: u32| import_label(&surveys[i.as_usize()], k as usize);
    let (order, cycles, more) = match graph.order(name, label) {
        Ok(order) => (order.into_iter().map(name).collect(), Vec::new(), 0),
        Err(crate::GraphError::Cycles { cycles, more }) => (Vec::new(), cycles, more),
    };

    let edges = graph
        .edges()
        .map(|(from, to, dep)| EdgeReport {
            from: name(from),
            import: label(from, dep.import),
            to: name(to),
            export: export_label(&surveys[to.as_usize()], dep.export as usize),
            rule: dep.rule.to_string(),
        })
        .collect();

    let mut unresolved = Vec::new();
    let mut host_imports = Vec::new();
    for (i, targets) in links.targets.iter().enumerate() {
        let mut hosts: BTreeMap<String, usize> = BTreeMap::new();
        for (k, t) in targets.iter().enumerate() {
            match t {
                Target::Input { .. } => {}
                Target::Host | Target::Renamed { .. } => {
                    let ns = match &surveys[i] {
                        Survey::Module(m) => m.imports[k].module.to_string(),
                        Survey::Component(c) => c.imports[k].name.name.to_string(),
                    };
                    *hosts.entry(ns).or_default() += 1;
                }
                Target::Unresolved { reason } | Target::Missing { reason, .. } => {
                    unresolved.push(UnresolvedReport {
                        input: names[i].to_string(),
                        import: import_label(&surveys[i], k),
                        reason: reason.clone(),
                    })
                }
            }
        }
        host_imports.extend(host_reports(names[i], hosts, links.host_map.as_ref()));
    }

    let nodes = inputs.iter().zip(&surveys).map(|(i, s)| node(i, s)).collect();

    Ok(GraphReport {
        nodes,
        edges,
        order,
        cycles,
        more_cycle_edges: more,
        unresolved,
        host_imports,
        problems: links.problems.iter().map(ToString::to_string).collect(),
        symbols: Vec::new(),
        load_order: Vec::new(),
        warnings: Vec::new(),
    })
}

/// The report line of one input.
fn node(input: &Input, s: &Survey<'_>) -> NodeReport {
    let (imports, exports) = match s {
        Survey::Module(m) => (m.imports.len(), m.exports.len()),
        Survey::Component(c) => (c.imports.len(), c.exports.len()),
    };
    NodeReport {
        name: input.name.clone(),
        file: input.display.clone(),
        kind: input.kind.to_string(),
        imports,
        exports,
    }
}

/// The host imports of `input`, counted per namespace, with the host map's
/// renaming.
fn host_reports<'h>(
    input: &'h str,
    hosts: BTreeMap<String, usize>,
    host_map: Option<&'h HostMap>,
) -> impl Iterator<Item = UnresolvedReport> + 'h {
    hosts.into_iter().map(move |(ns, n)| {
        let count = format!("{n} import{}", if n == 1 { "" } else { "s" });
        let reason = match host_map.and_then(|h| h.rename(&ns).map(|to| (h, to))) {
            Some((h, to)) => format!("{count}; host-map {} -> {to}", h.file),
            None => count,
        };
        UnresolvedReport {
            input: input.to_string(),
            import: ns,
            reason,
        }
    })
}

/// The graph of a set of shared libraries (`surveys` are the inputs'): what
/// `weld link` resolves, by symbol.
fn library_graph(
    lib_dirs: &[PathBuf],
    inputs: &Inputs,
    surveys: Vec<Survey<'_>>,
) -> Result<GraphReport, Error> {
    // The `needed` closure, and the libraries it found.
    let Closure {
        found,
        load_order,
        init_order,
    } = needed::closure(lib_dirs, inputs).map_err(LinkError::from)?;
    let found_surveys = survey_all(&found)?;
    let all: Vec<&Input> = inputs.iter().chain(found.iter()).collect();
    let surveys: Vec<&Survey<'_>> = surveys.iter().chain(&found_surveys).collect();
    let files: Vec<&str> = all.iter().map(|i| i.display.as_str()).collect();
    let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
    let (libs, dylink) = needed::libraries(&files, &surveys).map_err(LinkError::from)?;
    // Every import bound by symbol.
    let resolution = resolve_symbols(&load_order, &libs, &dylink, &names);

    let mut symbols = Vec::new();
    let mut unresolved = Vec::new();
    let mut host_imports = Vec::new();
    let mut problems = Vec::new();
    for (k, bindings) in resolution.bindings.iter().enumerate() {
        let mut hosts: BTreeMap<String, usize> = BTreeMap::new();
        for (i, (imp, b)) in libs[k].imports.iter().zip(bindings).enumerate() {
            let import = || import_label(surveys[k], i);
            match (&b.provider, b.provider.rule()) {
                (Provider::Host, _) => *hosts.entry(imp.module.to_string()).or_default() += 1,
                (Provider::Undefined(kind), _) => unresolved.push(UnresolvedReport {
                    input: names[k].to_string(),
                    import: import(),
                    reason: format!("undefined {kind}: no library defines it"),
                }),
                (Provider::Invalid(fault), _) => {
                    let fault = LibraryFault::from(fault.clone());
                    problems.push(fault.at(files[k], Some(Item::import(imp)), None).to_string());
                }
                (p, Some(rule)) => symbols.push(SymbolEdgeReport {
                    from: names[k].to_string(),
                    import: import(),
                    to: p
                        .library()
                        .map_or("weld:link", |def| names[def.lib.as_usize()])
                        .to_string(),
                    symbol: imp.name.to_string(),
                    rule: rule.to_string(),
                }),
                (_, None) => {}
            }
        }
        host_imports.extend(host_reports(names[k], hosts, None));
    }
    let order_names = |order: &[InputId]| order.iter().map(|k| names[k.as_usize()].to_string()).collect();
    Ok(GraphReport {
        nodes: all.iter().zip(&surveys).map(|(i, s)| node(i, s)).collect(),
        edges: Vec::new(),
        symbols,
        order: order_names(&init_order),
        load_order: order_names(&load_order),
        cycles: Vec::new(),
        more_cycle_edges: 0,
        unresolved,
        host_imports,
        warnings: resolution
            .duplicates(&files)
            .iter()
            .map(ToString::to_string)
            .collect(),
        problems,
    })
}

impl GraphReport {
    /// Plain text: nodes, edges, order or cycles, unresolved imports.
    pub fn to_text(&self) -> String {
        let mut s = String::from("nodes:\n");
        for n in &self.nodes {
            s.push_str(&format!(
                "  {} ({}, {}): {} imports, {} exports\n",
                n.name, n.kind, n.file, n.imports, n.exports
            ));
        }
        s.push_str(&format!("edges: {}\n", self.edges.len()));
        for e in &self.edges {
            s.push_str(&format!(
                "  {} imports {} -> {} exports {} [{}]\n",
                e.from, e.import, e.to, e.export, e.rule
            ));
        }
        if !self.symbols.is_empty() {
            s.push_str(&format!("symbols: {}\n", self.symbols.len()));
            for e in &self.symbols {
                s.push_str(&format!(
                    "  {} imports {} -> {} exports {} [{}]\n",
                    e.from, e.import, e.to, e.symbol, e.rule
                ));
            }
        }
        if self.cycles.is_empty() {
            s.push_str(&format!("order: {}\n", self.order.join(", ")));
            if !self.load_order.is_empty() {
                s.push_str(&format!("load order: {}\n", self.load_order.join(", ")));
            }
        } else {
            s.push_str(&format!("cycles: {}\n", self.cycles.len()));
            for c in &self.cycles {
                s.push_str(&format!("  {c}\n"));
            }
            if self.more_cycle_edges > 0 {
                s.push_str(&format!(
                    "  ... and {} more edges on cycles\n",
                    self.more_cycle_edges
                ));
            }
        }
        if !self.unresolved.is_empty() {
            s.push_str(&format!("unresolved: {}\n", self.unresolved.len()));
            for u in &self.unresolved {
                s.push_str(&format!("  {} imports {}: {}\n", u.input, u.import, u.reason));
            }
        }
        if !self.host_imports.is_empty() {
            s.push_str("host imports:\n");
            for h in &self.host_imports {
                s.push_str(&format!("  {} imports {}: {}\n", h.input, h.import, h.reason));
            }
        }
        if !self.warnings.is_empty() {
            s.push_str(&format!("warnings: {}\n", self.warnings.len()));
            for w in &self.warnings {
                s.push_str(&format!("  {w}\n"));
            }
        }
        if !self.problems.is_empty() {
            s.push_str(&format!("problems: {}\n", self.problems.len()));
            for p in &self.problems {
                s.push_str(&format!("  {p}\n"));
            }
        }
        s
    }

    /// Graphviz DOT; edges on cycles are drawn red.
    pub fn to_dot(&self) -> String {
        let on_cycle: std::collections::HashSet<(&str, &str)> = self
            .cycles
            .iter()
            .flat_map(|c| c.edges.iter().map(|e| (e.from.as_str(), e.to.as_str())))
            .collect();
        let mut s = String::from("digraph weld {\n  rankdir=LR;\n  node [shape=box];\n");
        for n in &self.nodes {
            let shape = if n.kind == "component" { "component" } else { "box" };
            s.push_str(&format!("  {} [shape={shape}];\n", quote(&n.name)));
        }
        // What the linker defines is drawn as one more node.
        if self.symbols.iter().any(|e| e.to == "weld:link") {
            s.push_str(&format!("  {} [shape=ellipse];\n", quote("weld:link")));
        }
        for e in &self.edges {
            let color = if on_cycle.contains(&(e.from.as_str(), e.to.as_str())) {
                ", color=red"
            } else {
                ""
            };
            s.push_str(&dot_edge(&e.from, &e.to, &e.import, &e.rule, "exact", color));
        }
        for e in &self.symbols {
            s.push_str(&dot_edge(
                &e.from,
                &e.to,
                &e.import,
                &e.rule,
                "symbol",
                ", style=dashed",
            ));
        }
        s.push_str("}\n");
        s
    }
}

/// A DOT identifier: `x` quoted.
fn quote(x: &str) -> String {
    format!("\"{}\"", x.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One DOT edge line, labelled with the import, and with the rule unless it
/// is the `usual` one; `attrs` are more attributes (`, color=red`).
fn dot_edge(from: &str, to: &str, import: &str, rule: &str, usual: &str, attrs: &str) -> String {
    let label = if rule == usual {
        import.to_string()
    } else {
        format!("{import} ({rule})")
    };
    format!(
        "  {} -> {} [label={}{attrs}];\n",
        quote(from),
        quote(to),
        quote(&label)
    )
}
