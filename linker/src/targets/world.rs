//! The target world: a WIT package (a directory or a `.wit` file, parsed
//! with `wit-parser`) or an encoded WIT package or component (`.wasm`,
//! decoded with `wit-component`), and one world of it.

use std::path::Path;

use wit_parser::{Resolve, WorldId};

use crate::error::{TargetsError, TargetsProblem};

/// A world components are checked against (see [`crate::targets`]).
#[derive(Debug, Clone)]
pub struct TargetWorld {
    pub(crate) resolve: Resolve,
    pub(crate) world: WorldId,
    /// Where it came from, for messages.
    pub(crate) source: String,
}

impl TargetWorld {
    /// Loads `path`: a WIT package directory (with its `deps/`), a `.wit`
    /// file, or a `.wasm` file holding an encoded WIT package (or a
    /// component, whose own world is taken). `world` picks a world by name
    /// (`command`, or a full name such as `wasi:cli/command@0.2.6`); without
    /// it the package must have exactly one.
    pub fn load(path: &Path, world: Option<&str>) -> Result<TargetWorld, TargetsError> {
        let source = path.display().to_string();
        let bad = |reason: TargetsProblem| TargetsError::World {
            world: source.clone(),
            reason,
        };
        let mut resolve = Resolve::default();
        let is_wasm = !path.is_dir()
            && std::fs::read(path)
                .map(|b| b.starts_with(b"\0asm"))
                .map_err(|e| bad(TargetsProblem::Read(e)))?;
        let world = if is_wasm {
            let bytes = std::fs::read(path).map_err(|e| bad(TargetsProblem::Read(e)))?;
            match wit_component::decode(&bytes).map_err(|e| bad(wit(e)))? {
                wit_component::DecodedWasm::WitPackage(r, pkg) => {
                    resolve = r;
                    resolve.select_world(&[pkg], world).map_err(|e| bad(wit(e)))?
                }
                wit_component::DecodedWasm::Component(r, w) => {
                    if let Some(name) = world {
                        return Err(bad(TargetsProblem::OneWorld(name.to_string())));
                    }
                    resolve = r;
                    w
                }
            }
        } else {
            let (pkg, _) = resolve.push_path(path).map_err(|e| bad(wit(e)))?;
            resolve.select_world(&[pkg], world).map_err(|e| bad(wit(e)))?
        };
        Ok(TargetWorld {
            resolve,
            world,
            source,
        })
    }

    /// Parses WIT source text (one package) held in memory.
    pub fn from_wit(name: &str, text: &str, world: Option<&str>) -> Result<TargetWorld, TargetsError> {
        let bad = |e: anyhow::Error| TargetsError::World {
            world: name.to_string(),
            reason: wit(e),
        };
        let mut resolve = Resolve::default();
        let pkg = resolve.push_str(name, text).map_err(bad)?;
        let world = resolve.select_world(&[pkg], world).map_err(bad)?;
        Ok(TargetWorld {
            resolve,
            world,
            source: name.to_string(),
        })
    }

    /// Where the world was read from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The world's full name, `ns:pkg/world@version`.
    pub fn name(&self) -> String {
        let w = &self.resolve.worlds[self.world];
        match w.package {
            Some(p) => {
                let n = &self.resolve.packages[p].name;
                let mut s = format!("{}:{}/{}", n.namespace, n.name, w.name);
                if let Some(v) = &n.version {
                    s.push_str(&format!("@{v}"));
                }
                s
            }
            None => w.name.clone(),
        }
    }
}

/// wit-parser's or wit-component's error, kept, with its chain on one line.
pub(crate) fn wit(e: anyhow::Error) -> TargetsProblem {
    TargetsProblem::Wit {
        text: one_line(&e),
        source: e.into(),
    }
}

/// An error chain on one line: `a: b: c`, without source positions'
/// multi-line excerpts.
pub(crate) fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let first = text.lines().next().unwrap_or("").trim().to_string();
        if !first.is_empty() && !parts.iter().any(|p| p.contains(&first)) {
            parts.push(first);
        }
    }
    parts.join(": ")
}
