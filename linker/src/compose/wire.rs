//! Which export satisfies which import, and in what order the children are
//! instantiated.
//!
//! Every instance and function import of every child is matched against the
//! exports of all the *other* children: an entry of the wiring file first,
//! then an import-map entry found under `--root` (which `locate` makes only
//! for names no given input provides), then the exact name, then the semver
//! rule (DESIGN §4). Several different
//! children offering the same best match is an error (name the one you mean in
//! the wiring file); identical children (same bytes) are interchangeable.
//! Anything else stays an import of the result. The order is the dependency
//! graph's topological order ([`ModuleGraph`]), whose cycle report names every
//! edge. Only the root, what `--export` names, and what they need,
//! transitively, are instantiated.

use std::collections::{HashMap, VecDeque};

use indexmap::IndexMap;
use weld_format::names::{MatchRule, ProviderIndex};
use weld_format::InputId;

use crate::error::{ComposeError, Error, LinkError};
use crate::resolve::graph::ModuleGraph;
use crate::resolve::{Links, Rule, Target};

/// One explicit connection, from a wiring file or the library caller:
/// `importer`'s import `import` takes `provider`'s export `export` (or, when
/// `export` is `None`, the export of `provider` that matches `import` by name
/// or semver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireSpec {
    /// The importing child (input name).
    pub importer: String,
    /// The import, exactly as the importer writes it.
    pub import: String,
    /// The providing child (input name).
    pub provider: String,
    /// The provider's export, if named.
    pub export: Option<String>,
}

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

/// The kind of an import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A core module.
    Module,
    /// A function.
    Func,
    /// A value.
    Value,
    /// A type.
    Type,
    /// An instance.
    Instance,
    /// A component.
    Component,
}

impl Kind {
    /// The kind of an import.
    pub fn of_import(ty: &wasmparser::ComponentTypeRef) -> Kind {
        use wasmparser::ComponentTypeRef as R;
        match ty {
            R::Module(_) => Kind::Module,
            R::Func(_) => Kind::Func,
            R::Value(_) => Kind::Value,
            R::Type(_) => Kind::Type,
            R::Instance(_) => Kind::Instance,
            R::Component(_) => Kind::Component,
        }
    }

    /// The kind of an export.
    pub fn of_export(kind: wasmparser::ComponentExternalKind) -> Kind {
        use wasmparser::ComponentExternalKind as K;
        match kind {
            K::Module => Kind::Module,
            K::Func => Kind::Func,
            K::Value => Kind::Value,
            K::Type => Kind::Type,
            K::Instance => Kind::Instance,
            K::Component => Kind::Component,
        }
    }

    /// Its name, as WIT and the text format say it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Module => "module",
            Kind::Func => "func",
            Kind::Value => "value",
            Kind::Type => "type",
            Kind::Instance => "instance",
            Kind::Component => "component",
        }
    }

    /// The export kind of the same sort.
    pub fn export_kind(self) -> wasm_encoder::ComponentExportKind {
        use wasm_encoder::ComponentExportKind as K;
        match self {
            Kind::Module => K::Module,
            Kind::Func => K::Func,
            Kind::Value => K::Value,
            Kind::Type => K::Type,
            Kind::Instance => K::Instance,
            Kind::Component => K::Component,
        }
    }
}

/// The facts resolution needs about one child: names and kinds, from the
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

/// Resolves every import and orders the children. `roots` are the children
/// that must be instantiated (the root and those `--export` names).
pub fn resolve(
    children: &[Child<'_>],
    specs: &[WireSpec],
    files: &[crate::resolve::FileLink],
    roots: &[usize],
) -> Result<Wiring, Error> {
    // Import-map entries (`--root`): tried after the names of the inputs.
    let by_file: HashMap<(usize, &str), (usize, &Rule)> = files
        .iter()
        .map(|l| {
            (
                (l.importer.as_usize(), l.module.as_str()),
                (l.provider.as_usize(), &l.rule),
            )
        })
        .collect();
    let by_name: HashMap<&str, usize> = children.iter().enumerate().map(|(i, c)| (c.name, i)).collect();
    let mut providers: ProviderIndex<'_, (usize, &str)> = ProviderIndex::new();
    for (i, c) in children.iter().enumerate() {
        for name in c.exports.keys() {
            providers.insert(name, (i, name));
        }
    }
    let mut problems: Vec<LinkError> = Vec::new();
    let problem = |importer: &str, import: &str, reason: String| LinkError {
        importer: importer.to_string(),
        import: import.to_string(),
        reason,
    };

    // Explicit wires first, checked against what the children have.
    let mut explicit: HashMap<(usize, &str), (usize, String)> = HashMap::new();
    for s in specs {
        let Some(&importer) = by_name.get(s.importer.as_str()) else {
            problems.push(problem(
                &s.importer,
                &s.import,
                "wiring: no input has this name".into(),
            ));
            continue;
        };
        let Some(&provider) = by_name.get(s.provider.as_str()) else {
            problems.push(problem(
                &s.importer,
                &s.import,
                format!("wiring: no input is named `{}`", s.provider),
            ));
            continue;
        };
        let Some((&import, _)) = children[importer].imports.get_key_value(s.import.as_str()) else {
            problems.push(problem(
                &s.importer,
                &s.import,
                "wiring: the input has no such import".into(),
            ));
            continue;
        };
        let export = match &s.export {
            Some(e) if children[provider].exports.contains_key(e.as_str()) => e.clone(),
            Some(e) => {
                problems.push(problem(
                    &s.importer,
                    &s.import,
                    format!("wiring: `{}` has no export `{e}`", s.provider),
                ));
                continue;
            }
            None => match providers.lookup_where(import, |&(p, _)| p == provider) {
                Some((&(_, e), _)) => e.to_string(),
                None => {
                    problems.push(problem(
                        &s.importer,
                        &s.import,
                        format!("wiring: `{}` exports nothing matching this name", s.provider),
                    ));
                    continue;
                }
            },
        };
        explicit.insert((importer, import), (provider, export));
    }

    let mut sources: Vec<Vec<Source>> = Vec::with_capacity(children.len());
    for (me, c) in children.iter().enumerate() {
        let mut row = Vec::with_capacity(c.imports.len());
        for (&name, &kind) in c.imports.iter() {
            let found = if let Some((p, e)) = explicit.get(&(me, name)) {
                Some((*p, e.clone(), Rule::Wiring))
            } else if matches!(kind, Kind::Instance | Kind::Func) {
                // An import-map entry names the file for this importer; locate
                // made one only for names no given input provides.
                let mapped = by_file.get(&(me, name)).and_then(|&(p, rule)| {
                    providers
                        .lookup_where(name, |&(q, _)| q == p)
                        .map(|(&(_, e), _)| (p, e.to_string(), rule.clone()))
                });
                match providers.lookup_where(name, |&(p, _)| p != me) {
                    _ if mapped.is_some() => mapped,
                    None => None,
                    Some((&(p, e), rule)) => {
                        // A different child with an equally good match makes the choice ambiguous.
                        let rival = providers.lookup_where(name, |&(q, f)| {
                            q != me && q != p && children[q].content != children[p].content && f == e
                        });
                        if let Some((&(q, _), rule2)) = rival {
                            if rule2 == rule {
                                problems.push(problem(
                                    c.name,
                                    name,
                                    format!(
                                        "ambiguous: both `{}` and `{}` export `{e}`; name one in a wiring file",
                                        children[p].name, children[q].name
                                    ),
                                ));
                            }
                        }
                        Some((
                            p,
                            e.to_string(),
                            match rule {
                                MatchRule::Exact => Rule::Exact,
                                MatchRule::Semver => Rule::Semver,
                            },
                        ))
                    }
                }
            } else {
                None
            };
            match found {
                None => row.push(Source::Outer),
                Some((provider, export, rule)) => {
                    let theirs = children[provider].exports[export.as_str()];
                    if theirs != kind {
                        problems.push(problem(
                            c.name,
                            name,
                            format!(
                                "expected {}, but `{}` exports `{export}` as {}",
                                kind.name(),
                                children[provider].name,
                                theirs.name()
                            ),
                        ));
                    }
                    row.push(Source::Wire {
                        provider,
                        export,
                        rule,
                    });
                }
            }
        }
        sources.push(row);
    }
    if !problems.is_empty() {
        return Err(ComposeError::Links(problems).into());
    }

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
    let targets = sources
        .iter()
        .enumerate()
        .map(|(i, row)| {
            row.iter()
                .map(|s| match s {
                    Source::Wire {
                        provider,
                        export,
                        rule,
                    } if used[i] => Target::Input {
                        provider: InputId(*provider as u32),
                        export: children[*provider]
                            .exports
                            .get_index_of(export.as_str())
                            .unwrap_or(0) as u32,
                        rule: rule.clone(),
                    },
                    _ => Target::Unresolved {
                        reason: String::new(),
                    },
                })
                .collect()
        })
        .collect();
    let graph = ModuleGraph::build(&Links { targets });
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
        .map(|i| i.as_usize())
        .filter(|&i| used[i])
        .collect();
    let unused = (0..children.len()).filter(|&i| !used[i]).collect();
    Ok(Wiring {
        sources,
        order,
        unused,
    })
}
