//! Stage 1, **load**: `[name=]path` specs (or bytes in memory) → [`Inputs`].
//!
//! Regular files are memory-mapped; pipes, `-` (stdin) and other special
//! files are read into a buffer. Each input is classified as a core module or
//! a component by its header; WAT text is converted by the `wat` crate into an
//! owned buffer. Inputs load in parallel (rayon) and come back in the order
//! given. Cost: one `mmap` per file, no copy; WAT costs a parse.
//!
//! Invariant: every [`Input`] holds bytes that start with a valid `\0asm`
//! header of a known version; nothing else is checked here.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use rayon::prelude::*;

use crate::error::LoadError;
use crate::index::InputId;
use crate::limits::{MAX_INPUTS, MAX_INPUT_SIZE, MAX_QUOTED_BYTES};

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A core WebAssembly module (version 1).
    Module,
    /// A component (layer 1).
    Component,
}

impl Kind {
    /// Classifies a binary by its 8-byte header.
    pub fn detect(bytes: &[u8]) -> Option<Kind> {
        match bytes.get(..8)? {
            [0, b'a', b's', b'm', 1, 0, 0, 0] => Some(Kind::Module),
            [0, b'a', b's', b'm', 0x0d, 0, 1, 0] => Some(Kind::Component),
            _ => None,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Module => "module",
            Kind::Component => "component",
        })
    }
}

/// One input on the command line: `[name=]path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// The name other inputs import it by.
    pub name: String,
    /// Where its bytes are; `-` means standard input.
    pub path: PathBuf,
}

impl InputSpec {
    /// Parses `[name=]path`. Without a name, the name is the file stem
    /// (`lib/b.wasm` → `b`; `-` → `stdin`).
    pub fn parse(spec: &str) -> Result<InputSpec, LoadError> {
        let bad = |reason: &str| LoadError::BadSpec {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let (name, path) = match spec.split_once('=') {
            Some((name, path)) if !name.contains(['/', '\\']) => {
                if name.is_empty() {
                    return Err(bad("empty name before `=`"));
                }
                (Some(name.to_string()), path)
            }
            _ => (None, spec),
        };
        if path.is_empty() {
            return Err(bad("empty path"));
        }
        let path = PathBuf::from(path);
        let name = match name {
            Some(n) => n,
            None if path == Path::new("-") => "stdin".to_string(),
            None => path
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad("cannot derive a name from the path; use name=path"))?
                .to_string(),
        };
        Ok(InputSpec { name, path })
    }
}

enum Bytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

/// One loaded input: its name and its bytes (mapped or owned).
pub struct Input {
    /// The name other inputs import it by.
    pub name: String,
    /// How errors refer to it: the path as given, or the name for bytes in memory.
    pub display: String,
    /// Its path, if it came from a file.
    pub path: Option<PathBuf>,
    /// Module or component.
    pub kind: Kind,
    /// Whether it was converted from WAT text.
    pub from_text: bool,
    bytes: Bytes,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("display", &self.display)
            .field("kind", &self.kind)
            .field("len", &self.bytes().len())
            .finish()
    }
}

impl Input {
    /// The binary (the mapping itself for mapped files).
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }

    /// Classifies `bytes` read from `display` and converts WAT text.
    fn classify(
        name: String,
        display: String,
        path: Option<PathBuf>,
        bytes: Bytes,
    ) -> Result<Input, LoadError> {
        let raw: &[u8] = match &bytes {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        };
        if let Some(kind) = Kind::detect(raw) {
            return Ok(Input {
                name,
                display,
                path,
                kind,
                from_text: false,
                bytes,
            });
        }
        let not_wasm = |reason: &str| LoadError::NotWasm {
            input: display.clone(),
            reason: reason.to_string(),
            first_bytes: quote_bytes(raw),
        };
        if raw.is_empty() {
            return Err(not_wasm("the file is empty"));
        }
        if raw.starts_with(b"\0asm") {
            return Err(if raw.len() < 8 {
                not_wasm("truncated header (fewer than 8 bytes)")
            } else {
                not_wasm("unknown binary version/layer")
            });
        }
        if looks_like_wat(raw) {
            let converted = wat::parse_bytes(raw).map_err(|e| {
                let mut e = e;
                if let Some(p) = &path {
                    e.set_path(p);
                }
                LoadError::Wat {
                    input: display.clone(),
                    message: e.to_string().replace('\n', " "),
                }
            })?;
            let owned = converted.into_owned();
            let kind = Kind::detect(&owned).ok_or_else(|| not_wasm("WAT produced no binary"))?;
            return Ok(Input {
                name,
                display,
                path,
                kind,
                from_text: true,
                bytes: Bytes::Owned(owned),
            });
        }
        Err(not_wasm("no `\\0asm` magic, and not WAT text"))
    }
}

/// Whether the bytes look like WAT: UTF-8 text whose first token opens an
/// s-expression or a comment.
fn looks_like_wat(raw: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(raw) else {
        return false;
    };
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    t.starts_with('(') || t.starts_with(";;")
}

fn quote_bytes(raw: &[u8]) -> String {
    if raw.is_empty() {
        return "none".to_string();
    }
    let shown: Vec<String> = raw
        .iter()
        .take(MAX_QUOTED_BYTES)
        .map(|b| format!("{b:02x}"))
        .collect();
    let more = if raw.len() > MAX_QUOTED_BYTES { " ..." } else { "" };
    format!("{}{more}", shown.join(" "))
}

/// The loaded inputs, in the order given. Every later stage borrows from here.
#[derive(Debug, Default)]
pub struct Inputs {
    items: Vec<Input>,
}

impl Inputs {
    /// Loads files in parallel. Names must be unique.
    pub fn load(specs: &[InputSpec]) -> Result<Inputs, LoadError> {
        check_count(specs.len())?;
        check_unique(
            specs
                .iter()
                .map(|s| (s.name.as_str(), s.path.display().to_string())),
        )?;
        let items = specs
            .par_iter()
            .map(load_one)
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Inputs { items })
    }

    /// Wraps bytes already in memory (binary or WAT text), one per name.
    pub fn from_memory<N: Into<String>>(
        items: impl IntoIterator<Item = (N, Vec<u8>)>,
    ) -> Result<Inputs, LoadError> {
        let pairs: Vec<(String, Vec<u8>)> = items.into_iter().map(|(n, b)| (n.into(), b)).collect();
        check_count(pairs.len())?;
        check_unique(pairs.iter().map(|(n, _)| (n.as_str(), n.clone())))?;
        let items = pairs
            .into_par_iter()
            .map(|(name, bytes)| Input::classify(name.clone(), name, None, Bytes::Owned(bytes)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Inputs { items })
    }

    /// Appends inputs loaded later (files that imports reach), keeping their
    /// order. Names must stay unique; on error `self` is unchanged.
    pub fn append(&mut self, more: Inputs) -> Result<(), LoadError> {
        check_count(self.items.len() + more.items.len())?;
        check_unique(
            self.items
                .iter()
                .chain(&more.items)
                .map(|i| (i.name.as_str(), i.display.clone())),
        )?;
        self.items.extend(more.items);
        Ok(())
    }

    /// The number of inputs.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The input at a position.
    pub fn get(&self, id: InputId) -> &Input {
        &self.items[id.as_usize()]
    }

    /// All inputs, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Input> {
        self.items.iter()
    }

    /// All inputs with their ids.
    pub fn enumerate(&self) -> impl Iterator<Item = (InputId, &Input)> {
        self.items.iter().enumerate().map(|(i, x)| (InputId(i as u32), x))
    }
}

fn check_count(n: usize) -> Result<(), LoadError> {
    if n > MAX_INPUTS {
        return Err(LoadError::Limit {
            input: format!("{n} inputs"),
            reason: format!("at most {MAX_INPUTS} inputs are accepted"),
        });
    }
    Ok(())
}

fn check_unique<'s>(names: impl Iterator<Item = (&'s str, String)>) -> Result<(), LoadError> {
    let mut seen: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    for (name, display) in names {
        if let Some(first) = seen.get(name) {
            return Err(LoadError::DuplicateName {
                name: name.to_string(),
                first: first.clone(),
                second: display,
            });
        }
        seen.insert(name, display);
    }
    Ok(())
}

fn load_one(spec: &InputSpec) -> Result<Input, LoadError> {
    let display = spec.path.display().to_string();
    let io = |source: std::io::Error| LoadError::Io {
        input: display.clone(),
        path: spec.path.clone(),
        source,
    };
    if spec.path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().lock().read_to_end(&mut buf).map_err(io)?;
        return Input::classify(spec.name.clone(), "<stdin>".to_string(), None, Bytes::Owned(buf));
    }
    let mut file = File::open(&spec.path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::other("is a directory")));
    }
    if meta.len() > MAX_INPUT_SIZE {
        return Err(LoadError::Limit {
            input: display,
            reason: format!("{} bytes is over the {MAX_INPUT_SIZE}-byte limit", meta.len()),
        });
    }
    let bytes = if meta.is_file() && meta.len() > 0 {
        // SAFETY: the mapping is read-only and lives as long as the `Input`.
        // weld never writes to its inputs; if another process truncates the
        // file while weld runs, reads may fault (the memmap2 caveat shared by
        // every mmap-based linker). Outputs are written to a new temp file and
        // renamed, never in place.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Bytes::Mapped(map)
    } else {
        let mut buf = Vec::new();
        file.read_to_end(&mut buf).map_err(io)?;
        Bytes::Owned(buf)
    };
    Input::classify(spec.name.clone(), display, Some(spec.path.clone()), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_name_defaults_to_stem() {
        let s = InputSpec::parse("lib/b.wasm").unwrap();
        assert_eq!(s.name, "b");
        assert_eq!(s.path, PathBuf::from("lib/b.wasm"));
        let s = InputSpec::parse("core=lib/b.wasm").unwrap();
        assert_eq!(s.name, "core");
        assert_eq!(InputSpec::parse("-").unwrap().name, "stdin");
        assert!(matches!(
            InputSpec::parse("=x.wasm"),
            Err(LoadError::BadSpec { .. })
        ));
        // A `=` inside a directory name is part of the path.
        assert_eq!(InputSpec::parse("a=b/c.wasm").unwrap().name, "a");
        assert_eq!(InputSpec::parse("x/a=b.wasm").unwrap().name, "a=b");
    }

    #[test]
    fn classifies_module_component_and_wat() {
        let ins = Inputs::from_memory([
            ("m", b"\0asm\x01\0\0\0".to_vec()),
            ("c", b"\0asm\x0d\0\x01\0".to_vec()),
            ("t", b"(module)".to_vec()),
        ])
        .unwrap();
        let kinds: Vec<Kind> = ins.iter().map(|i| i.kind).collect();
        assert_eq!(kinds, [Kind::Module, Kind::Component, Kind::Module]);
        assert!(ins.get(InputId(2)).from_text);
    }

    #[test]
    fn rejects_non_wasm_with_first_bytes() {
        let err = Inputs::from_memory([("x", b"\x7fELF\x02\x01".to_vec())]).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LoadError::NotWasm { .. }));
        assert!(msg.contains("x: not WebAssembly"), "{msg}");
        assert!(msg.contains("7f 45 4c 46"), "{msg}");
    }

    #[test]
    fn rejects_empty_and_truncated_headers() {
        let e = Inputs::from_memory([("e", vec![])]).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = Inputs::from_memory([("t", b"\0asm\x01".to_vec())]).unwrap_err();
        assert!(e.to_string().contains("truncated header"), "{e}");
        let e = Inputs::from_memory([("v", b"\0asm\x02\0\0\0".to_vec())]).unwrap_err();
        assert!(e.to_string().contains("unknown binary version"), "{e}");
    }

    #[test]
    fn bad_wat_names_input() {
        let e = Inputs::from_memory([("w", b"(module (func $f (call $nope)))".to_vec())]).unwrap_err();
        assert!(matches!(e, LoadError::Wat { .. }));
        assert!(e.to_string().starts_with("w: invalid WAT"), "{e}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let e = Inputs::from_memory([("a", b"(module)".to_vec()), ("a", b"(module)".to_vec())]).unwrap_err();
        assert!(matches!(e, LoadError::DuplicateName { .. }));
    }
}
