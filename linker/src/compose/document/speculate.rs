//! A guess at the lowered document, read from the syntax tree alone, so
//! compose can start while wac-parser's resolver (which validates every
//! package) still runs on another thread.
//!
//! Only the plain shape is guessed: `let x = new pkg { name: y.e, ... }`
//! with arguments that name an earlier `let` or one export of it, and
//! `export y.e [as "n"]`. Anything else (imports, types, spreads, inferred
//! arguments, nested expressions) gives no guess. Names are matched as
//! wac-parser matches them (an identifier may stand for the one interface
//! whose short name it is). A guess is used only when it equals what
//! [`lower`](super::lower) makes of the resolved graph, so a wrong guess
//! costs time, never correctness.

use std::collections::HashMap;

use wac_parser::{
    Document, ExportOptions, Expr, InstantiationArgument, InstantiationArgumentName, PostfixExpr,
    PrimaryExpr, Statement,
};
use weld_format::InputId;

use crate::compose::contents::Contents;
use crate::compose::emit::ExtraExport;
use crate::compose::wire::Source;
use crate::resolve::Rule;

/// The guessed lowering: what [`super::compose_document`] would pass to
/// compose after resolution.
#[derive(Debug, PartialEq)]
pub struct Guess<'d> {
    /// Each instantiation's `let` name and package input, in order.
    pub named: Vec<(&'d str, InputId)>,
    /// Each instantiation's sources, in its import order.
    pub sources: Vec<Vec<Source>>,
    /// The result's exports.
    pub exports: Vec<ExtraExport>,
}

/// The guess for `doc`, whose packages are the inputs `input_of` names;
/// `None` when the document has a shape this does not read.
pub fn guess<'d>(
    doc: &'d Document<'d>,
    input_of: &HashMap<(&str, Option<&semver::Version>), InputId>,
    contents: &Contents<'_>,
) -> Option<Guess<'d>> {
    let mut named: Vec<(&'d str, InputId)> = Vec::new();
    let mut sources: Vec<Vec<Source>> = Vec::new();
    // Each `let` name: its child and that child's import and export names.
    let mut lets: HashMap<&str, usize> = HashMap::new();
    let mut faces: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    // The graph's node order, which orders the resolved exports: an alias
    // `y.e` is a node when first used (an argument's before its `new`),
    // and a later use reuses it. Only aliases are exported here, so their
    // order among themselves is all that counts.
    let mut aliases: HashMap<(InputId, String), usize> = HashMap::new();
    let mut node_of = |key: (InputId, String)| {
        let next = aliases.len();
        *aliases.entry(key).or_insert(next)
    };
    let mut exported_at: Vec<(usize, ExtraExport)> = Vec::new();
    let mut exported_nodes: std::collections::HashSet<usize> = std::collections::HashSet::new();
    for stmt in &doc.statements {
        match stmt {
            Statement::Let(l) => {
                let PrimaryExpr::New(new) = &l.expr.primary else {
                    return None;
                };
                if !l.expr.postfix.is_empty() || lets.contains_key(l.id.string) {
                    return None;
                }
                let input = *input_of.get(&(new.package.name, new.package.version.as_ref()))?;
                let survey = contents
                    .survey(contents.of_input[input.as_usize()])
                    .as_component()?;
                let imports: Vec<&str> = survey.imports.iter().map(|i| i.name.name).collect();
                let exported: Vec<&str> = survey.exports.iter().map(|e| e.name.name).collect();
                let mut mine = vec![Source::Outer(None); imports.len()];
                let mut given = vec![false; imports.len()];
                let mut fill = false;
                for arg in &new.arguments {
                    let InstantiationArgument::Named(arg) = arg else {
                        if let InstantiationArgument::Fill(_) = arg {
                            fill = true;
                            continue;
                        }
                        return None;
                    };
                    let name = match &arg.name {
                        InstantiationArgumentName::Ident(id) => interface_named(id.string, &imports),
                        InstantiationArgumentName::String(s) => s.value,
                    };
                    let k = imports.iter().position(|i| *i == name)?;
                    if std::mem::replace(&mut given[k], true) {
                        return None;
                    }
                    mine[k] = match access(&arg.expr, &lets, &faces)? {
                        (provider, None) => Source::Instance { provider },
                        (provider, Some(export)) => {
                            node_of((provider, export.clone()));
                            Source::Wire {
                                provider,
                                export,
                                rule: Rule::Wiring { semver: false },
                            }
                        }
                    };
                }
                // Without `...` every import must be given (wac-parser's rule).
                if !fill && given.iter().any(|g| !g) {
                    return None;
                }
                lets.insert(l.id.string, named.len());
                named.push((l.id.string, input));
                sources.push(mine);
                faces.push((imports, exported));
            }
            Statement::Export(e) => {
                let (child, export) = access(&e.expr, &lets, &faces)?;
                let export = export?;
                let as_name = match &e.options {
                    ExportOptions::None => export.clone(),
                    ExportOptions::Rename(n) => n.as_str().to_string(),
                    ExportOptions::Spread(_) => return None,
                };
                let at = node_of((child, export.clone()));
                if !exported_nodes.insert(at) {
                    return None;
                }
                exported_at.push((
                    at,
                    ExtraExport {
                        child,
                        export: Some(export),
                        as_name,
                    },
                ));
            }
            Statement::Import(_) | Statement::Type(_) => return None,
        }
    }
    exported_at.sort_by_key(|(n, _)| *n);
    let exports = exported_at.into_iter().map(|(_, e)| e).collect();
    Some(Guess {
        named,
        sources,
        exports,
    })
}

/// `y` (the instance of an earlier `let`) or `y.e` / `y["e"]` (one of its
/// exports): the child and the export's real name.
fn access(
    expr: &Expr<'_>,
    lets: &HashMap<&str, usize>,
    faces: &[(Vec<&str>, Vec<&str>)],
) -> Option<(InputId, Option<String>)> {
    let PrimaryExpr::Ident(id) = &expr.primary else {
        return None;
    };
    let child = *lets.get(id.string)?;
    let exported = &faces[child].1;
    let export = match expr.postfix.as_slice() {
        [] => None,
        [PostfixExpr::Access(a)] => Some(interface_named(a.id.string, exported)),
        [PostfixExpr::NamedAccess(a)] => Some(a.string.value),
        _ => return None,
    };
    if let Some(e) = export {
        if !exported.contains(&e) {
            return None;
        }
    }
    Some((InputId(child as u32), export.map(str::to_string)))
}

/// The name an identifier stands for among `names`: itself when present,
/// else the one interface `ns:pkg/ident[@v]`, else itself.
fn interface_named<'n>(ident: &'n str, names: &[&'n str]) -> &'n str {
    if names.contains(&ident) {
        return ident;
    }
    let mut matches = names.iter().filter(|n| {
        n.rfind('/').is_some_and(|slash| {
            let short = &n[slash + 1..];
            short.split('@').next() == Some(ident)
        })
    });
    match (matches.next(), matches.next()) {
        (Some(one), None) => one,
        _ => ident,
    }
}
