//! Stage 4, **resolve**: surveys → [`Links`], one target per import.
//!
//! Core modules: an import `(module "b", field "f")` names the input `b`; it
//! resolves to `b`'s export `f`. Components: each import name is matched
//! against the exports of all *other* components, exact name first, then the
//! semver rule (highest version on the same track). Host namespaces
//! (`env`, `wasi_snapshot_preview1`, `wasi:*`, and any the caller adds) are
//! never resolved among the inputs.
//!
//! Cost: O(imports + exports): every provider is indexed once, every import is
//! one or two hash lookups.

pub(crate) mod graph;
pub(crate) mod locate;

use std::collections::HashMap;

use rayon::prelude::*;

use weld_format::names::{is_host_namespace, MatchRule, ProviderIndex};
use weld_format::{InputId, Inputs, Survey};

use crate::error::Error;

/// Options for resolution.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// More import module names to treat as host namespaces.
    pub hosts: Vec<String>,
    /// Imports already resolved to files (by `--root` rules).
    pub files: Vec<FileLink>,
}

/// How an import found its provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The names are equal (core: the module name is the input's name).
    Exact,
    /// Same base name, versions on the same semver track.
    Semver,
    /// An entry of a compose wiring file (or an explicit wire given by the
    /// library caller).
    Wiring,
    /// A relative path under `--root`, to this file (relative to the root).
    Path {
        /// The file, relative to the root.
        file: String,
    },
    /// An entry of an import map.
    Map {
        /// The map file, relative to the root.
        map: String,
        /// The entry's key.
        key: String,
        /// The file it maps to, relative to the root.
        file: String,
    },
}

impl From<MatchRule> for Rule {
    fn from(r: MatchRule) -> Self {
        match r {
            MatchRule::Exact => Rule::Exact,
            MatchRule::Semver => Rule::Semver,
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Exact => f.write_str("exact"),
            Rule::Semver => f.write_str("semver"),
            Rule::Wiring => f.write_str("wiring"),
            Rule::Path { file } => write!(f, "path {file}"),
            Rule::Map { map, key, file } => write!(f, "map {map} [{key}] -> {file}"),
        }
    }
}

/// An import resolved to a file by `--root` path or import map rules (see
/// [`crate::resolve::locate`]), which resolution takes before any name rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLink {
    /// The importing input.
    pub importer: InputId,
    /// The import's module name.
    pub module: String,
    /// The input loaded from the file.
    pub provider: InputId,
    /// The rule that found the file.
    pub rule: Rule,
}

/// Where one import goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Another input's export.
    Input {
        /// The providing input.
        provider: InputId,
        /// The position of the export in the provider's export list.
        export: u32,
        /// How the provider was found.
        rule: Rule,
    },
    /// A host namespace; left as an import.
    Host,
    /// Nothing among the inputs provides it; left as an import.
    Unresolved {
        /// Why: what was looked for.
        reason: String,
    },
    /// The import names an input that does not provide it: an error when
    /// fusing, shown as unresolved by `graph`.
    Missing {
        /// The input the import names.
        provider: InputId,
        /// What that input lacks.
        reason: String,
    },
}

/// The resolution of every import of every input.
#[derive(Debug, Clone)]
pub struct Links {
    /// `targets[input][import]` for every input, imports in survey order.
    pub targets: Vec<Vec<Target>>,
}

impl Links {
    /// The target of one import.
    pub fn target(&self, input: InputId, import: usize) -> &Target {
        &self.targets[input.as_usize()][import]
    }
}

/// Resolves every import. `names[i]` is the link name of input `i`.
pub fn resolve(opts: &ResolveOptions, names: &[&str], surveys: &[Survey<'_>]) -> Links {
    // Core modules are found by their link name.
    let by_name: HashMap<&str, InputId> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, InputId(i as u32)))
        .collect();
    // Component exports are indexed once, in command-line order.
    let mut providers: ProviderIndex<'_, (InputId, u32)> = ProviderIndex::new();
    for (i, s) in surveys.iter().enumerate() {
        if let Survey::Component(c) = s {
            for (e, export) in c.exports.iter().enumerate() {
                providers.insert(export.name.name, (InputId(i as u32), e as u32));
            }
        }
    }
    // Per module, its exports by name, built lazily once per provider.
    let export_maps: Vec<Option<HashMap<&str, u32>>> = surveys
        .iter()
        .map(|s| {
            s.as_module().map(|m| {
                let mut map = HashMap::with_capacity(m.exports.len());
                for (e, export) in m.exports.iter().enumerate() {
                    map.entry(export.name).or_insert(e as u32);
                }
                map
            })
        })
        .collect();

    let by_file: HashMap<(InputId, &str), (InputId, &Rule)> = opts
        .files
        .iter()
        .map(|l| ((l.importer, l.module.as_str()), (l.provider, &l.rule)))
        .collect();
    let targets = surveys
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let me = InputId(i as u32);
            match s {
                Survey::Module(m) => m
                    .imports
                    .iter()
                    .map(|imp| {
                        if is_host_namespace(imp.module, &opts.hosts) {
                            return Target::Host;
                        }
                        let found = by_file.get(&(me, imp.module)).map(|&(p, r)| (p, r.clone()));
                        let (provider, rule) = match found {
                            Some(f) => f,
                            None => match by_name.get(imp.module) {
                                Some(&p) => (p, Rule::Exact),
                                None => {
                                    return Target::Unresolved {
                                        reason: format!("no input is named `{}`", imp.module),
                                    }
                                }
                            },
                        };
                        match &export_maps[provider.as_usize()] {
                            Some(map) => match map.get(imp.name) {
                                Some(&export) => Target::Input {
                                    provider,
                                    export,
                                    rule,
                                },
                                None => Target::Missing {
                                    provider,
                                    reason: format!("input `{}` has no export `{}`", imp.module, imp.name),
                                },
                            },
                            None => Target::Missing {
                                provider,
                                reason: format!("input `{}` is a component, not a core module", imp.module),
                            },
                        }
                    })
                    .collect(),
                Survey::Component(c) => c
                    .imports
                    .iter()
                    .map(|imp| {
                        let name = imp.name.name;
                        if is_host_namespace(name, &opts.hosts) {
                            return Target::Host;
                        }
                        match providers.lookup_where(name, |(p, _)| *p != me) {
                            Some((&(provider, export), rule)) => Target::Input {
                                provider,
                                export,
                                rule: rule.into(),
                            },
                            None => Target::Unresolved {
                                reason: "no other input exports it".to_string(),
                            },
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Links { targets }
}

/// Surveys every input in parallel, in input order. The first malformed input
/// (in input order) is the error.
pub fn survey_all(inputs: &Inputs) -> Result<Vec<Survey<'_>>, Error> {
    let items: Vec<_> = inputs.iter().collect();
    items
        .par_iter()
        .map(|i| weld_format::survey(&i.display, i.bytes()))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|r| r.map_err(Error::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weld_format::{survey, Inputs};

    fn run(items: &[(&str, &str)]) -> Links {
        let inputs =
            Inputs::from_memory(items.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
        let surveys: Vec<Survey> = inputs
            .iter()
            .map(|i| survey(&i.display, i.bytes()).unwrap())
            .collect();
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        resolve(&ResolveOptions::default(), &names, &surveys)
    }

    #[test]
    fn core_import_resolves_to_named_input_export() {
        let l = run(&[
            (
                "a",
                r#"(module (import "b" "f" (func)) (import "env" "g" (func)) (import "b" "nope" (func)) (import "zz" "q" (func)))"#,
            ),
            ("b", r#"(module (func (export "f")))"#),
        ]);
        let t = &l.targets[0];
        assert_eq!(
            t[0],
            Target::Input {
                provider: InputId(1),
                export: 0,
                rule: Rule::Exact
            }
        );
        assert_eq!(t[1], Target::Host);
        assert!(matches!(&t[2], Target::Missing { reason, .. } if reason.contains("no export `nope`")));
        assert!(matches!(&t[3], Target::Unresolved { reason } if reason.contains("no input is named `zz`")));
    }

    #[test]
    fn component_import_resolves_by_semver_to_another_input() {
        let l = run(&[
            (
                "app",
                r#"(component (import "my:greet/api@0.2.0" (instance)) (export "my:greet/api@0.2.0" (instance 0)))"#,
            ),
            (
                "lib",
                r#"(component (instance $i) (export "my:greet/api@0.2.3" (instance $i)))"#,
            ),
        ]);
        assert_eq!(
            l.targets[0][0],
            Target::Input {
                provider: InputId(1),
                export: 0,
                rule: Rule::Semver
            }
        );
    }
}
