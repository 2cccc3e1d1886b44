//! The architecture invariant of DESIGN §1: no module cycles inside
//! `linker/src`. Checked over the top-level modules (a folder counts as one:
//! `fuse::plan` using `crate::error` is an edge fuse → error), from every
//! `crate::name` path outside `#[cfg(test)]` code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`fuse` for `src/fuse/plan.rs`,
/// `write` for `src/write.rs`, `None` for `lib.rs`).
fn top(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(m) => Some(m.to_string()),
        None => Some(first),
    }
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(from) = top(&src, f) else { continue };
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let deps = edges.entry(from.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // Items of the crate root (`crate::Error`) are not modules.
            if !name.is_empty() && name.chars().next().unwrap().is_ascii_lowercase() && name != from {
                deps.insert(name);
            }
        }
    }
    edges
}

#[test]
fn no_module_cycle_inside_linker_src() {
    let edges = edges();
    assert!(
        edges.contains_key("fuse") && edges.contains_key("resolve"),
        "{edges:?}"
    );
    // Depth-first search for a back edge; report the cycle it closes.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(pos) = stack.iter().position(|s| s == m) {
            let mut c = stack[pos..].to_vec();
            c.push(m.to_string());
            cycles.push(c.join(" -> "));
            return;
        }
        if !done.insert(m.to_string()) {
            return;
        }
        stack.push(m.to_string());
        for d in edges.get(m).into_iter().flatten() {
            visit(d, edges, stack, done, cycles);
        }
        stack.pop();
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        visit(m, &edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    assert!(
        cycles.is_empty(),
        "module cycles in linker/src:\n{}",
        cycles.join("\n")
    );
}
