//! Link resolution, stage 1, **needed**: shared libraries (`dylink.0`) →
//! their `needed` closure and the two orders a loader uses.
//!
//! Every library an input needs is found among the inputs (by link name or
//! file name), else in the `--lib-dir` directories, by locate's capability
//! rules ([`check_relative`], [`resolve_path`]): a bare file name only (no
//! separator, no `..`, no absolute path, no scheme or drive letter, no NUL),
//! and a file whose canonical path (symlinks resolved) stays inside the
//! directory. The libraries found are loaded once, into [`Closure::found`],
//! and searched in turn.
//!
//! Then the orders: load order, breadth-first from MAIN (input 0) and then
//! from every other given input in command-line order, is the order symbols
//! are looked up in ([`super::symbols`]); init order, dependencies before
//! their users and MAIN last, is the order libraries are placed and
//! initialised in. A cycle of `needed` is broken where the walk meets a
//! library already on its path.
//!
//! Cost: one pass over each input's first section, one hash lookup per
//! `needed` name, one `canonicalize` per name looked up per directory, and
//! O(libraries + needed) for the orders.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

use weld_format::dylink::{Dylink, DylinkError};
use weld_format::survey::ModuleSurvey;
use weld_format::{InputId, InputSpec, Inputs, Item, LoadError, Problem, Survey};

use super::locate::{check_relative, resolve_path, Refusal};

/// The set of shared libraries cannot be formed.
#[derive(Debug, thiserror::Error)]
pub enum LibrarySetError {
    /// An input has no `dylink.0` section.
    #[error("{file}: not a shared library (no dylink.0 section): build it with -fPIC -shared, or use `weld fuse` for modules that import each other by name")]
    NotShared {
        /// The input.
        file: String,
    },
    /// An input is a component.
    #[error("{file}: is a component; `weld link` takes shared libraries (core modules with dylink.0)")]
    Component {
        /// The input.
        file: String,
    },
    /// A library's `dylink.0` section, or the module before it, is
    /// malformed.
    #[error(transparent)]
    Malformed(Box<Problem>),
    /// A `needed` name that may not be looked up.
    #[error("{file}: needed library `{name}` cannot be looked up: {reason}")]
    BadNeeded {
        /// The library that needs it.
        file: String,
        /// The name.
        name: String,
        /// Why.
        reason: NeededRefusal,
    },
    /// A needed library is neither an input nor in a library directory.
    #[error("{file}: needs `{name}`, which is not among the inputs{}", searched_text(.searched))]
    MissingLibrary {
        /// The library that needs it.
        file: String,
        /// The missing library.
        name: String,
        /// The directories searched.
        searched: Vec<String>,
    },
    /// A `--lib-dir` that cannot be used.
    #[error("--lib-dir {dir}: {source}")]
    LibDir {
        /// The directory.
        dir: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A library found in a `--lib-dir` could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
}

fn searched_text(searched: &[String]) -> String {
    if searched.is_empty() {
        " (no --lib-dir given)".to_string()
    } else {
        format!(" nor in --lib-dir {}", searched.join(", "))
    }
}

/// Why a `needed` name is not looked up in a library directory.
#[derive(Debug, thiserror::Error)]
pub enum NeededRefusal {
    /// The name breaks locate's path grammar (`..`, absolute, a scheme, …).
    #[error(transparent)]
    Path(Refusal),
    /// The name has a path separator: only bare file names are looked up.
    #[error("it contains a path separator; only bare file names are looked up")]
    NotBare,
    /// The file, symlinks resolved, is outside the library directory.
    #[error("{} resolves to {resolved}, outside the library directory {}", path.display(), path.parent().unwrap_or(path).display())]
    Escapes {
        /// The name in the directory (as given), a bare file name.
        path: PathBuf,
        /// Where it led.
        resolved: String,
    },
}

/// The `dylink.0` section of `file` is malformed: the one record, with the
/// section's offset, and the section reader's error kept.
pub(crate) fn dylink_problem(file: &str, e: DylinkError) -> Box<Problem> {
    Box::new(Problem {
        input: file.to_string(),
        item: Some(Item::Part(format!(
            "custom section `{}`",
            weld_format::dylink::SECTION
        ))),
        offset: Some(e.offset),
        reason: e.reason.clone(),
        source: Some(Box::new(e)),
    })
}

/// The `needed` list of an input, read from the `dylink.0` section that
/// must open a shared library. `None`: the input is not a shared library.
pub(crate) fn needed_of(file: &str, bytes: &[u8]) -> Result<Option<Vec<String>>, LibrarySetError> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| {
            LibrarySetError::Malformed(Box::new(
                Problem::parse(file, None, e).because("malformed module"),
            ))
        })?;
        match payload {
            wasmparser::Payload::Version { .. } => {}
            wasmparser::Payload::CustomSection(c) if c.name() == weld_format::dylink::SECTION => {
                let d = weld_format::dylink::parse(c.data(), c.data_offset())
                    .map_err(|e| LibrarySetError::Malformed(dylink_problem(file, e)))?;
                return Ok(Some(d.needed.iter().map(|s| s.to_string()).collect()));
            }
            // `dylink.0` comes first; anything else first means none.
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Whether every input is a core module with a `dylink.0` section: a set
/// `weld link` takes, which `weld graph` shows by symbol.
pub(crate) fn is_library_set(surveys: &[Survey<'_>]) -> bool {
    !surveys.is_empty()
        && surveys.iter().all(|s| {
            s.as_module()
                .is_some_and(|m| m.custom(weld_format::dylink::SECTION).is_some())
        })
}

/// Each input as a library: its module survey and its `dylink.0`.
pub(crate) fn libraries<'s, 'a>(
    files: &[&str],
    surveys: &[&'s Survey<'a>],
) -> Result<(Vec<&'s ModuleSurvey<'a>>, Vec<Dylink<'a>>), LibrarySetError> {
    let libs: Vec<&ModuleSurvey<'a>> = surveys
        .iter()
        .zip(files)
        .map(|(s, f)| {
            s.as_module()
                .ok_or_else(|| LibrarySetError::Component { file: f.to_string() })
        })
        .collect::<Result<_, _>>()?;
    let dylink = libs
        .iter()
        .zip(files)
        .map(|(m, f)| match weld_format::dylink::dylink(m) {
            Some(Ok(d)) => Ok(d),
            Some(Err(e)) => Err(LibrarySetError::Malformed(dylink_problem(f, e))),
            None => Err(LibrarySetError::NotShared { file: f.to_string() }),
        })
        .collect::<Result<_, _>>()?;
    Ok((libs, dylink))
}

/// A library directory: as given (for messages) and canonical.
struct LibDir {
    given: PathBuf,
    canonical: PathBuf,
}

/// Checks that `name` may be looked up in a library directory: locate's
/// path grammar, and a bare file name.
fn check_name(name: &str) -> Result<(), NeededRefusal> {
    check_relative(name).map_err(NeededRefusal::Path)?;
    if name.contains('/') {
        return Err(NeededRefusal::NotBare);
    }
    Ok(())
}

/// Looks `name` (checked by [`check_name`]) up in the library directories,
/// in order, by locate's confinement rule.
fn in_lib_dirs(dirs: &[LibDir], name: &str) -> Result<Option<PathBuf>, NeededRefusal> {
    for dir in dirs {
        match resolve_path(&dir.canonical, &dir.canonical, name) {
            Ok(file) => return Ok(Some(file)),
            Err(Refusal::NotFound(_)) => continue,
            Err(Refusal::Escapes { resolved, .. }) => {
                return Err(NeededRefusal::Escapes {
                    path: dir.given.join(name),
                    resolved,
                })
            }
            Err(other) => return Err(NeededRefusal::Path(other)),
        }
    }
    Ok(None)
}

/// The closure, with its orders.
#[derive(Debug)]
pub(crate) struct Closure {
    /// The libraries found in the library directories, in discovery order:
    /// input `given.len() + i` is `found`'s input `i`.
    pub found: Inputs,
    /// Breadth-first from MAIN, then every other given input and what it
    /// needs: the order symbols are looked up in.
    pub load_order: Vec<InputId>,
    /// Dependencies before their users (MAIN last): the order libraries
    /// are placed, instantiated and initialised in.
    pub init_order: Vec<InputId>,
}

/// The inputs given, then those found, as one list.
fn input_at<'i>(given: &'i Inputs, found: &'i Inputs, id: usize) -> &'i weld_format::Input {
    match id.checked_sub(given.len()) {
        None => given.get(InputId(id as u32)),
        Some(i) => found.get(InputId(i as u32)),
    }
}

/// Indexes `inputs` (whose first id is `from`) by link name and by file
/// name; the first of a name keeps it.
fn index(by_name: &mut HashMap<String, InputId>, inputs: &Inputs, from: usize) {
    for (i, input) in inputs.iter().enumerate() {
        let id = InputId((from + i) as u32);
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
}

/// Finds every library the inputs need that is not among them in
/// `lib_dirs` (loading each once), and returns the closure. Input 0 is MAIN.
pub(crate) fn closure(lib_dirs: &[PathBuf], given: &Inputs) -> Result<Closure, LibrarySetError> {
    let dirs: Vec<LibDir> = lib_dirs
        .iter()
        .map(|d| {
            std::fs::canonicalize(d)
                .map(|canonical| LibDir {
                    given: d.clone(),
                    canonical,
                })
                .map_err(|source| LibrarySetError::LibDir {
                    dir: d.display().to_string(),
                    source,
                })
        })
        .collect::<Result<_, _>>()?;
    let mut by_name: HashMap<String, InputId> = HashMap::new();
    index(&mut by_name, given, 0);
    let mut found = Inputs::default();
    let mut needs: Vec<Vec<InputId>> = Vec::new();
    let mut next = 0usize;
    while next < given.len() + found.len() {
        let input = input_at(given, &found, next);
        let file = input.display.clone();
        let needed = needed_of(&file, input.bytes())?
            .ok_or_else(|| LibrarySetError::NotShared { file: file.clone() })?;
        let mut mine = Vec::with_capacity(needed.len());
        let mut specs = Vec::new();
        for name in needed {
            if let Some(&p) = by_name.get(&name) {
                mine.push(p);
                continue;
            }
            let path = check_name(&name)
                .and_then(|()| in_lib_dirs(&dirs, &name))
                .map_err(|reason| LibrarySetError::BadNeeded {
                    file: file.clone(),
                    name: name.clone(),
                    reason,
                })?;
            let Some(path) = path else {
                return Err(LibrarySetError::MissingLibrary {
                    file,
                    name,
                    searched: lib_dirs.iter().map(|d| d.display().to_string()).collect(),
                });
            };
            // The id it gets once loaded below.
            let id = InputId((given.len() + found.len() + specs.len()) as u32);
            specs.push(InputSpec {
                name: name.clone(),
                path,
            });
            by_name.insert(name, id);
            mine.push(id);
        }
        needs.push(mine);
        if !specs.is_empty() {
            let loaded = Inputs::load(&specs)?;
            index(&mut by_name, &loaded, given.len() + found.len());
            found.append(loaded)?;
        }
        next += 1;
    }
    let load_order = load_order(&needs);
    let init_order = init_order(&needs, &load_order);
    Ok(Closure {
        found,
        load_order,
        init_order,
    })
}

/// Breadth-first from each root in command-line order.
fn load_order(needs: &[Vec<InputId>]) -> Vec<InputId> {
    let n = needs.len();
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for root in 0..n {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        let mut queue = VecDeque::from([InputId(root as u32)]);
        while let Some(k) = queue.pop_front() {
            order.push(k);
            for &d in &needs[k.as_usize()] {
                if !seen[d.as_usize()] {
                    seen[d.as_usize()] = true;
                    queue.push_back(d);
                }
            }
        }
    }
    order
}

/// Dependencies first (post-order), iteratively, from each library in load
/// order; a cycle of `needed` is broken where the walk meets a library
/// already on its path. MAIN is initialised last, whatever else was given.
fn init_order(needs: &[Vec<InputId>], load_order: &[InputId]) -> Vec<InputId> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum State {
        New,
        OnPath,
        Done,
    }
    let n = needs.len();
    let mut state = vec![State::New; n];
    let mut order = Vec::with_capacity(n);
    for &root in load_order {
        if state[root.as_usize()] != State::New {
            continue;
        }
        let mut stack: Vec<(InputId, usize)> = vec![(root, 0)];
        state[root.as_usize()] = State::OnPath;
        while let Some((k, i)) = stack.last_mut() {
            let k = *k;
            if let Some(&d) = needs[k.as_usize()].get(*i) {
                *i += 1;
                if state[d.as_usize()] == State::New {
                    state[d.as_usize()] = State::OnPath;
                    stack.push((d, 0));
                }
            } else {
                state[k.as_usize()] = State::Done;
                order.push(k);
                stack.pop();
            }
        }
    }
    if let Some(pos) = order.iter().position(|k| k.as_usize() == 0) {
        let main = order.remove(pos);
        order.push(main);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library as WAT: its name and the libraries it needs.
    fn lib(needed: &[&str]) -> Vec<u8> {
        let needed: String = needed.iter().map(|n| format!(" (needed \"{n}\")")).collect();
        format!("(module (@dylink.0 (mem-info (memory 0 0)){needed}))").into_bytes()
    }

    fn names(inputs: &Inputs, order: &[InputId]) -> Vec<String> {
        order.iter().map(|&k| inputs.get(k).name.clone()).collect()
    }

    #[test]
    fn needed_names_must_be_bare() {
        for bad in [
            "",
            "../libc.so",
            "lib/x.so",
            "..",
            ".",
            "a\\b.so",
            "C:x.so",
            "/abs.so",
            "./x.so",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(matches!(check_name("lib/x.so"), Err(NeededRefusal::NotBare)));
        assert!(matches!(
            check_name("../libc.so"),
            Err(NeededRefusal::Path(Refusal::DotDot))
        ));
        for good in ["libc.so", "libpython3.14.so", "a..b.so"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn load_order_is_breadth_first_from_main_and_init_order_puts_dependencies_first() {
        // main needs a and b; a needs c; b needs c too; d is given but
        // needed by nobody.
        let inputs = Inputs::from_memory([
            ("main", lib(&["a", "b"])),
            ("c", lib(&[])),
            ("a", lib(&["c"])),
            ("d", lib(&[])),
            ("b", lib(&["c"])),
        ])
        .unwrap();
        let c = closure(&[], &inputs).unwrap();
        assert!(c.found.is_empty());
        assert_eq!(names(&inputs, &c.load_order), ["main", "a", "b", "c", "d"]);
        assert_eq!(names(&inputs, &c.init_order), ["c", "a", "b", "d", "main"]);
    }

    #[test]
    fn a_cycle_of_needed_is_broken_where_the_walk_meets_it() {
        let inputs =
            Inputs::from_memory([("main", lib(&["a"])), ("a", lib(&["b"])), ("b", lib(&["a"]))]).unwrap();
        let c = closure(&[], &inputs).unwrap();
        assert_eq!(names(&inputs, &c.load_order), ["main", "a", "b"]);
        assert_eq!(names(&inputs, &c.init_order), ["b", "a", "main"]);
    }

    #[test]
    fn a_missing_library_names_who_needs_it_and_where_it_was_looked_for() {
        let inputs = Inputs::from_memory([("main", lib(&["libnope.so"]))]).unwrap();
        let e = closure(&[], &inputs).unwrap_err();
        assert!(matches!(&e, LibrarySetError::MissingLibrary { name, .. } if name == "libnope.so"));
        assert_eq!(
            e.to_string(),
            "main: needs `libnope.so`, which is not among the inputs (no --lib-dir given)"
        );
    }

    #[test]
    fn libraries_are_found_in_lib_dirs_and_escapes_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("libs");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("liba.so"), lib(&[])).unwrap();
        std::fs::write(tmp.path().join("outside.so"), lib(&[])).unwrap();
        let inputs = Inputs::from_memory([("main", lib(&["liba.so"]))]).unwrap();
        let c = closure(std::slice::from_ref(&dir), &inputs).unwrap();
        assert_eq!(c.found.len(), 1);
        assert_eq!(c.found.get(InputId(0)).name, "liba.so");
        assert_eq!(c.init_order, [InputId(1), InputId(0)]);

        let inputs = Inputs::from_memory([("main", lib(&["../outside.so"]))]).unwrap();
        let e = closure(std::slice::from_ref(&dir), &inputs).unwrap_err();
        assert!(
            matches!(
                &e,
                LibrarySetError::BadNeeded {
                    reason: NeededRefusal::Path(Refusal::DotDot),
                    ..
                }
            ),
            "{e}"
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(tmp.path().join("outside.so"), dir.join("libout.so")).unwrap();
            let inputs = Inputs::from_memory([("main", lib(&["libout.so"]))]).unwrap();
            let e = closure(std::slice::from_ref(&dir), &inputs).unwrap_err();
            let LibrarySetError::BadNeeded {
                reason: NeededRefusal::Escapes { resolved, .. },
                ..
            } = &e
            else {
                panic!("{e}")
            };
            let outside = std::fs::canonicalize(tmp.path().join("outside.so")).unwrap();
            assert_eq!(std::path::Path::new(resolved), outside);
            assert!(e.to_string().contains("outside the library directory"), "{e}");
        }
    }
}
