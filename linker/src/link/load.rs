//! Stage 1 of `weld link`: the `needed` closure. Every library an input
//! needs is found among the inputs (by name or file name), else in the
//! `--lib-dir` directories, capability-safe: a bare file name only, and a
//! file whose canonical path (symlinks resolved) stays inside the directory.
//! Then the two orders a loader uses: load order (breadth-first from MAIN,
//! for symbol lookup) and init order (dependencies first).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

use weld_format::{InputId, InputSpec, Inputs};

use super::LinkError;

/// The `needed` list of an input, read from the `dylink.0` section that
/// must open a shared library. `None`: the input is not a shared library.
pub(crate) fn needed_of(file: &str, bytes: &[u8]) -> Result<Option<Vec<String>>, LinkError> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| LinkError::Library {
            file: file.to_string(),
            reason: format!("malformed module: {} (at offset {:#x})", e.message(), e.offset()),
        })?;
        match payload {
            wasmparser::Payload::Version { .. } => {}
            wasmparser::Payload::CustomSection(c) if c.name() == weld_format::dylink::SECTION => {
                let d = weld_format::dylink::parse(c.data(), c.data_offset()).map_err(|e| {
                    LinkError::Library {
                        file: file.to_string(),
                        reason: format!("custom section `dylink.0`: {e}"),
                    }
                })?;
                return Ok(Some(d.needed.iter().map(|s| s.to_string()).collect()));
            }
            // `dylink.0` comes first; anything else first means none.
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Why a `needed` name cannot be looked up: it must be a bare file name.
fn bad_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.contains(['/', '\\']) {
        Some("it contains a path separator; only bare file names are looked up")
    } else if name == "." || name == ".." {
        Some("it names a directory")
    } else if name.contains('\0') {
        Some("it contains a NUL byte")
    } else if name.contains(':') && name.len() >= 2 && name.as_bytes()[1] == b':' {
        Some("it is an absolute path")
    } else {
        None
    }
}

/// Looks `name` up in the library directories, in order.
fn in_lib_dirs(dirs: &[(PathBuf, PathBuf)], name: &str) -> Result<Option<PathBuf>, String> {
    for (given, canonical) in dirs {
        let candidate = canonical.join(name);
        let Ok(resolved) = std::fs::canonicalize(&candidate) else {
            continue;
        };
        if !resolved.starts_with(canonical) {
            return Err(format!(
                "{} resolves to {}, outside the library directory {}",
                given.join(name).display(),
                resolved.display(),
                given.display()
            ));
        }
        if resolved.is_file() {
            return Ok(Some(resolved));
        }
    }
    Ok(None)
}

/// The closure, with its orders.
pub(crate) struct Closure {
    /// Breadth-first from MAIN, then every other given input and what it
    /// needs: the order symbols are looked up in.
    pub load_order: Vec<InputId>,
    /// Dependencies before their users (MAIN last): the order libraries
    /// are placed, instantiated and initialised in.
    pub init_order: Vec<InputId>,
}

/// Adds to `inputs` every library the inputs need that is not among them,
/// from `lib_dirs`, and returns the closure. Input 0 is MAIN.
pub(crate) fn closure(inputs: &mut Inputs, lib_dirs: &[PathBuf]) -> Result<Closure, LinkError> {
    let dirs: Vec<(PathBuf, PathBuf)> = lib_dirs
        .iter()
        .map(|d| {
            std::fs::canonicalize(d)
                .map(|c| (d.clone(), c))
                .map_err(|e| LinkError::LibDir {
                    dir: d.display().to_string(),
                    reason: e.to_string(),
                })
        })
        .collect::<Result<_, _>>()?;
    // Inputs by link name and by file name.
    let mut by_name: HashMap<String, InputId> = HashMap::new();
    let index = |by_name: &mut HashMap<String, InputId>, inputs: &Inputs, from: usize| {
        for (id, input) in inputs.enumerate().skip(from) {
            by_name.entry(input.name.clone()).or_insert(id);
            if let Some(file) = input
                .path
                .as_ref()
                .and_then(|p| p.file_name())
                .and_then(|f| f.to_str())
            {
                by_name.entry(file.to_string()).or_insert(id);
            }
        }
    };
    index(&mut by_name, inputs, 0);

    let mut needs: Vec<Vec<InputId>> = Vec::new();
    let mut next = 0usize;
    while next < inputs.len() {
        let id = InputId(next as u32);
        let input = inputs.get(id);
        let file = input.display.clone();
        let needed =
            needed_of(&file, input.bytes())?.ok_or_else(|| LinkError::NotShared { file: file.clone() })?;
        let mut mine = Vec::with_capacity(needed.len());
        let mut found = Vec::new();
        for name in needed {
            if let Some(&p) = by_name.get(&name) {
                mine.push(p);
                continue;
            }
            if let Some(reason) = bad_name(&name) {
                return Err(LinkError::BadNeeded {
                    file,
                    name,
                    reason: reason.to_string(),
                });
            }
            let path = in_lib_dirs(&dirs, &name).map_err(|reason| LinkError::BadNeeded {
                file: file.clone(),
                name: name.clone(),
                reason,
            })?;
            let Some(path) = path else {
                return Err(LinkError::MissingLibrary {
                    file,
                    name,
                    searched: lib_dirs.iter().map(|d| d.display().to_string()).collect(),
                });
            };
            found.push(InputSpec {
                name: name.clone(),
                path,
            });
            // Placeholder until loaded below; the id is the next one.
            let new_id = InputId((inputs.len() + found.len() - 1) as u32);
            by_name.insert(name, new_id);
            mine.push(new_id);
        }
        needs.push(mine);
        if !found.is_empty() {
            let from = inputs.len();
            inputs.append(Inputs::load(&found)?)?;
            index(&mut by_name, inputs, from);
        }
        next += 1;
    }

    // Load order: breadth-first from each root in command-line order.
    let n = inputs.len();
    let mut seen = vec![false; n];
    let mut load_order = Vec::with_capacity(n);
    for root in 0..n {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        let mut queue = VecDeque::from([InputId(root as u32)]);
        while let Some(k) = queue.pop_front() {
            load_order.push(k);
            for &d in &needs[k.as_usize()] {
                if !seen[d.as_usize()] {
                    seen[d.as_usize()] = true;
                    queue.push_back(d);
                }
            }
        }
    }
    // Init order: dependencies first (post-order), iteratively; a cycle of
    // `needed` is broken where the walk meets a library already on its path.
    let mut state = vec![0u8; n]; // 0 new, 1 on the path, 2 done
    let mut init_order = Vec::with_capacity(n);
    for &root in &load_order {
        if state[root.as_usize()] != 0 {
            continue;
        }
        let mut stack: Vec<(InputId, usize)> = vec![(root, 0)];
        state[root.as_usize()] = 1;
        while let Some((k, i)) = stack.last_mut() {
            let k = *k;
            if let Some(&d) = needs[k.as_usize()].get(*i) {
                *i += 1;
                if state[d.as_usize()] == 0 {
                    state[d.as_usize()] = 1;
                    stack.push((d, 0));
                }
            } else {
                state[k.as_usize()] = 2;
                init_order.push(k);
                stack.pop();
            }
        }
    }
    // MAIN is initialised last, whatever else was given.
    if let Some(pos) = init_order.iter().position(|k| k.as_usize() == 0) {
        let main = init_order.remove(pos);
        init_order.push(main);
    }
    Ok(Closure {
        load_order,
        init_order,
    })
}

#[cfg(test)]
mod tests {
    use super::bad_name;

    #[test]
    fn needed_names_must_be_bare() {
        for bad in ["", "../libc.so", "lib/x.so", "..", ".", "a\\b.so", "C:x.so"] {
            assert!(bad_name(bad).is_some(), "{bad}");
        }
        for good in ["libc.so", "libpython3.14.so", "a..b.so"] {
            assert!(bad_name(good).is_none(), "{good}");
        }
    }
}
