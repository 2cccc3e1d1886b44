//! `weld compose --print-wac`: the WAC document of a composition made from
//! flags, so a user can move from `--plug` to a file. Composing the printed
//! document (with the `--dep` lines of its header) gives the same wires,
//! imports and exports.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use weld_format::Inputs;

use crate::compose::Composed;

/// The document of `composed`, made from `inputs` (the first is the root).
/// Each instantiated child becomes `let NAME = new plug:NAME { ... }`, a
/// wire a named argument, the imports of the result `...`; the result's
/// exports are the root's and each `--export`.
pub fn print_wac(composed: &Composed, inputs: &Inputs) -> String {
    // Identifiers: kebab-case, unique, never a keyword.
    let mut taken = HashSet::new();
    let ident: HashMap<&str, String> = composed
        .order
        .iter()
        .map(|name| (name.as_str(), unique_ident(name, &mut taken)))
        .collect();
    let path_of: HashMap<&str, &str> = inputs
        .iter()
        .map(|i| (i.name.as_str(), i.display.as_str()))
        .collect();
    let mut out = String::new();
    out.push_str(
        "// Written by `weld compose --print-wac`. Compose it again with:\n//   weld compose THIS.wac",
    );
    for name in &composed.order {
        let _ = write!(
            out,
            " \\\n//     --dep plug:{}={}",
            ident[name.as_str()],
            path_of.get(name.as_str()).unwrap_or(&"?")
        );
    }
    out.push_str("\npackage weld:composition;\n\n");
    for name in &composed.order {
        let wires: Vec<String> = composed
            .wires
            .iter()
            .filter(|w| w.importer == *name)
            .map(|w| {
                let provider = &ident[w.provider.as_str()];
                if w.export.is_empty() {
                    format!("{}: {provider}", quoted(&w.import))
                } else {
                    format!("{}: {provider}[{}]", quoted(&w.import), quoted(&w.export))
                }
            })
            .collect();
        let id = &ident[name.as_str()];
        let mut args = wires;
        // Imports of the result: whatever is not wired.
        args.push("...".to_string());
        let _ = writeln!(out, "let {id} = new plug:{id} {{ {} }};", args.join(", "));
    }
    // The root's exports, then each --export.
    if let Some(root) = inputs.iter().next() {
        // The plug form re-exports every export of the root, as the survey
        // lists them.
        let survey = weld_format::survey(&root.display, root.bytes());
        let root_exports = survey
            .iter()
            .filter_map(|s| s.as_component())
            .flat_map(|c| &c.exports);
        if let Some(id) = ident.get(root.name.as_str()) {
            for e in root_exports {
                let _ = writeln!(out, "export {id}[{}];", quoted(e.name.name));
            }
        }
    }
    for e in &composed.exports {
        if let Some(id) = ident.get(e.input.as_str()) {
            let _ = writeln!(
                out,
                "export {id}[{}] as {};",
                quoted(&e.found),
                quoted(&e.as_name)
            );
        }
    }
    out
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// A WAC identifier for a child's name: lowercase words joined by `-`,
/// starting with a letter, made unique with a numeric suffix; `%` before a
/// keyword.
fn unique_ident(name: &str, taken: &mut HashSet<String>) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            word.push(ch.to_ascii_lowercase());
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    // Each word of a kebab name starts with a letter or is all digits
    // after the first; a leading digit gets a letter before it.
    let mut base = words.join("-");
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base = format!("c{base}");
    }
    let mut candidate = base.clone();
    let mut k = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{base}-{k}");
        k += 1;
    }
    if KEYWORDS.contains(&candidate.as_str()) {
        format!("%{candidate}")
    } else {
        candidate
    }
}

const KEYWORDS: &[&str] = &[
    "import",
    "with",
    "type",
    "tuple",
    "list",
    "option",
    "result",
    "borrow",
    "resource",
    "variant",
    "record",
    "flags",
    "enum",
    "func",
    "static",
    "constructor",
    "u8",
    "s8",
    "u16",
    "s16",
    "u32",
    "s32",
    "u64",
    "s64",
    "f32",
    "f64",
    "char",
    "bool",
    "string",
    "interface",
    "world",
    "export",
    "new",
    "let",
    "use",
    "include",
    "as",
    "package",
    "targets",
    "async",
    "stream",
    "future",
    "error-context",
];
