//! Stage 4, **resolve**: surveys → [`Resolution`], one target per import, for
//! every command. `graph` prints exactly what `fuse` and `compose` then do,
//! because all three call [`resolve`].
//!
//! Core modules: an import `(module "b", field "f")` names the input `b`
//! (directly, or through a `--root` path or import map, see [`locate`]); it
//! resolves to `b`'s export `f`. Host namespaces (`env`,
//! `wasi_snapshot_preview1`, `wasi:*`, and any the caller adds) are never
//! resolved among the inputs.
//!
//! Components: each import is matched against the exports of all *other*
//! inputs, by these rules in order:
//!
//! 1. an explicit wire (a wiring file entry, [`WireSpec`]);
//! 2. for instance and func imports, an import-map entry found under `--root`
//!    (which `locate` makes only for names no given input provides);
//! 3. the exact name;
//! 4. the semver rule (DESIGN §4: the highest version on the same track).
//!
//! What matches nothing is left as an import (a host namespace, or
//! unresolved). Problems are reported, every one of them, not stopped at:
//! a wire naming something that does not exist, two *different* inputs
//! offering the same best match (identical bytes are interchangeable), and a
//! provider whose export is of another kind.
//!
//! Cost: O(imports + exports): every provider is indexed once, every import is
//! one or two hash lookups (an ambiguity check adds one more, and a byte
//! comparison of the two candidates only when there is a rival).
//!
//! Shared libraries (`dylink.0`, `weld link`) resolve by the loader's rules
//! instead: [`needed`] finds the libraries each one needs (among the inputs,
//! else in `--lib-dir` by locate's capability rules) and orders them, and
//! [`symbols`] binds every import by symbol, the first definition in load
//! order. `link` builds its output from that answer and `graph` prints it.

pub(crate) mod exports;
pub(crate) mod graph;
pub(crate) mod host_map;
pub(crate) mod locate;
pub(crate) mod needed;
pub(crate) mod setup;
pub(crate) mod symbols;
pub(crate) mod wiring;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use weld_format::names::{is_host_namespace, MatchRule, ProviderIndex};
use weld_format::{InputId, Survey};

pub(crate) use weld_format::wat::ComponentKind as Kind;
pub use wiring::WireSpec;

pub use host_map::HostMap;
use weld_format::{Item, Problem};

/// Options for resolution.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// More import module names to treat as host namespaces.
    pub hosts: Vec<String>,
    /// Imports already resolved to files (by `--root` rules).
    pub files: Vec<FileLink>,
    /// Explicit wires (a wiring file), taken before any name matching.
    pub wiring: Vec<WireSpec>,
    /// The host import map: `@name` imports renamed in the output.
    pub host_map: Option<HostMap>,
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
    Wiring {
        /// The export was found by the semver rule, not by its exact name.
        semver: bool,
    },
    /// A relative path under `--root`, to this file (relative to the root).
    Path {
        /// The file, relative to the root.
        file: String,
    },
    /// A shared-library symbol (`weld link`): the first definition in load
    /// order, or what the linker itself provides.
    Symbol,
    /// An entry of an import map.
    Map {
        /// The map file, relative to the root.
        map: String,
        /// The entry's key.
        key: String,
        /// The file it maps to, relative to the root.
        file: String,
        /// The key or the export was found by the semver rule, not by the
        /// import's exact name.
        semver: bool,
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
            Rule::Wiring { semver: false } => f.write_str("wiring"),
            Rule::Wiring { semver: true } => f.write_str("wiring, semver"),
            Rule::Symbol => f.write_str("symbol"),
            Rule::Path { file } => write!(f, "path {file}"),
            Rule::Map {
                map,
                key,
                file,
                semver,
            } => {
                write!(f, "map {map} [{key}] -> {file}")?;
                if *semver {
                    f.write_str(", semver")?;
                }
                Ok(())
            }
        }
    }
}

/// An import resolved to a file by `--root` path or import map rules (see
/// [`crate::locate`]), which resolution takes before any name rule.
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
    /// Left as an import under this name (`flatten`: one import per
    /// component item, whatever the importing module called it).
    Renamed {
        /// The import's module name in the output.
        module: String,
        /// Its field name.
        name: String,
    },
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
#[derive(Debug)]
pub struct Resolution {
    /// `targets[input][import]` for every input, imports in survey order.
    pub targets: Vec<Vec<Target>>,
    /// Every problem found (components: wiring entries that name nothing,
    /// ambiguity, kind mismatches), in input order.
    pub problems: Vec<Problem>,
    /// The host import map the run used.
    pub host_map: Option<HostMap>,
}

impl Resolution {
    /// The module name a host import gets in the output: renamed by the
    /// host map, else its own.
    pub fn host_module<'m>(&self, module: &'m str) -> std::borrow::Cow<'m, str> {
        match self.host_map.as_ref().and_then(|h| h.rename(module)) {
            Some(to) => std::borrow::Cow::Owned(to),
            None => std::borrow::Cow::Borrowed(module),
        }
    }

    /// The target of one import.
    pub fn target(&self, input: InputId, import: usize) -> &Target {
        &self.targets[input.as_usize()][import]
    }
}

/// Resolves every import. `names[i]` is the link name of input `i`, and
/// `surveys[i]` its survey.
pub fn resolve(opts: &ResolveOptions, names: &[&str], surveys: &[&Survey<'_>]) -> Resolution {
    let mut r = Resolver::new(opts, names, surveys);
    let targets = surveys
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let me = InputId(i as u32);
            match s {
                Survey::Module(m) => m
                    .imports
                    .iter()
                    .map(|imp| r.core(me, imp.module, imp.name))
                    .collect(),
                Survey::Component(c) => c
                    .imports
                    .iter()
                    .map(|imp| r.component(me, imp.name.name, Kind::of_import(&imp.ty)))
                    .collect(),
            }
        })
        .collect();
    Resolution {
        targets,
        problems: r.problems,
        host_map: opts.host_map.clone(),
    }
}

/// One resolution run: the indexes every lookup uses, built once, and the
/// problems found so far.
struct Resolver<'r, 'a> {
    opts: &'r ResolveOptions,
    names: &'r [&'r str],
    surveys: &'r [&'r Survey<'a>],
    /// Inputs by link name.
    by_name: HashMap<&'r str, InputId>,
    /// `--root` links: `(importer, import) -> (provider, rule)`.
    by_file: HashMap<(InputId, &'r str), (InputId, &'r Rule)>,
    /// Per core module, its exports by name (the first of a name).
    core_exports: Vec<Option<HashMap<&'a str, u32>>>,
    /// Every component export, by name and semver track.
    providers: ProviderIndex<'a, (InputId, u32)>,
    /// Explicit wires: `(importer, import) -> (provider, export, how the
    /// export's name matched)`.
    wires: HashMap<(InputId, &'r str), (InputId, u32, MatchRule)>,
    /// The content of each input, hashed the first time an ambiguity check
    /// needs it (identical bytes are interchangeable, not rivals).
    content: Vec<std::cell::OnceCell<blake3::Hash>>,
    problems: Vec<Problem>,
}

impl<'r, 'a> Resolver<'r, 'a> {
    fn new(opts: &'r ResolveOptions, names: &'r [&'r str], surveys: &'r [&'r Survey<'a>]) -> Self {
        let by_name = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, InputId(i as u32)))
            .collect();
        let by_file = opts
            .files
            .iter()
            .map(|l| ((l.importer, l.module.as_str()), (l.provider, &l.rule)))
            .collect();
        let core_exports = surveys
            .iter()
            .map(|s| {
                s.as_module().map(|m| {
                    let mut map = HashMap::with_capacity_and_hasher(m.exports.len(), Default::default());
                    for (e, export) in m.exports.iter().enumerate() {
                        map.entry(export.name).or_insert(e as u32);
                    }
                    map
                })
            })
            .collect();
        let mut providers = ProviderIndex::new();
        for (i, s) in surveys.iter().enumerate() {
            if let Survey::Component(c) = s {
                for (e, export) in c.exports.iter().enumerate() {
                    providers.insert(export.name.name, (InputId(i as u32), e as u32));
                }
            }
        }
        let mut r = Resolver {
            opts,
            names,
            surveys,
            by_name,
            by_file,
            core_exports,
            providers,
            wires: HashMap::default(),
            content: (0..surveys.len()).map(|_| std::cell::OnceCell::new()).collect(),
            problems: Vec::new(),
        };
        r.check_wires();
        r
    }

    /// Checks every explicit wire against what the inputs have, keeping the
    /// good ones. Cost: O(wires + imports and exports of the inputs wired).
    fn check_wires(&mut self) {
        if self.opts.wiring.is_empty() {
            return;
        }
        // Import names, for the inputs wires name (each input indexed once).
        // Exports are looked up in the provider index, by the semver rule.
        let mut imports: HashSet<(InputId, &str)> = HashSet::default();
        let mut importers = HashSet::default();
        let component = |who: &str| {
            let &i = self.by_name.get(who)?;
            self.surveys[i.as_usize()].as_component().map(|c| (i, c))
        };
        for w in &self.opts.wiring {
            if let Some((i, c)) = component(&w.importer).filter(|(i, _)| importers.insert(*i)) {
                imports.extend(c.imports.iter().map(|x| (i, x.name.name)));
            }
        }
        for w in &self.opts.wiring {
            let problem = |reason: String| {
                Problem::new(
                    &w.importer,
                    Item::ComponentImport(w.import.clone()),
                    format!("wiring: {reason}"),
                )
            };
            let Some(&importer) = self.by_name.get(w.importer.as_str()) else {
                self.problems.push(problem("no input has this name".into()));
                continue;
            };
            let Some(&provider) = self.by_name.get(w.provider.as_str()) else {
                self.problems
                    .push(problem(format!("no input is named `{}`", w.provider)));
                continue;
            };
            let (Survey::Component(_), Survey::Component(_)) = (
                self.surveys[importer.as_usize()],
                self.surveys[provider.as_usize()],
            ) else {
                self.problems.push(problem("wires connect components".into()));
                continue;
            };
            if !imports.contains(&(importer, w.import.as_str())) {
                self.problems.push(problem("the input has no such import".into()));
                continue;
            }
            // The named export, or the one matching the import's name: exact,
            // else the highest version on the same track.
            let wanted = w.export.as_deref().unwrap_or(&w.import);
            let export = match self.providers.lookup_where(wanted, |&(p, _)| p == provider) {
                Some((&(_, k), rule)) => (k, rule),
                None => {
                    let reason = match &w.export {
                        Some(e) => format!("`{}` has no export `{e}`", w.provider),
                        None => format!("`{}` exports nothing matching this name", w.provider),
                    };
                    self.problems.push(problem(reason));
                    continue;
                }
            };
            self.wires
                .insert((importer, w.import.as_str()), (provider, export.0, export.1));
        }
    }

    /// The target of one core import `(module "module" field "field")`.
    fn core(&self, me: InputId, module: &str, field: &str) -> Target {
        if is_host_namespace(module, &self.opts.hosts) && !self.by_name.contains_key(module) {
            return Target::Host;
        }
        let found = self.by_file.get(&(me, module)).map(|&(p, r)| (p, r.clone()));
        let (provider, rule) = match found.or_else(|| self.by_name.get(module).map(|&p| (p, Rule::Exact))) {
            Some(f) => f,
            None => {
                return Target::Unresolved {
                    reason: format!("no input is named `{module}`"),
                }
            }
        };
        match &self.core_exports[provider.as_usize()] {
            Some(map) => match map.get(field) {
                Some(&export) => Target::Input {
                    provider,
                    export,
                    rule,
                },
                None => Target::Missing {
                    provider,
                    reason: format!("input `{module}` has no export `{field}`"),
                },
            },
            None => Target::Missing {
                provider,
                reason: format!("input `{module}` is a component, not a core module"),
            },
        }
    }

    /// The target of one component import, checked (kind, ambiguity).
    fn component(&mut self, me: InputId, name: &str, kind: Kind) -> Target {
        let found = if let Some(&(provider, export, by)) = self.wires.get(&(me, name)) {
            Some((
                provider,
                export,
                Rule::Wiring {
                    semver: by == MatchRule::Semver,
                },
            ))
        } else if kind.by_name() {
            // An import-map entry names the file for this importer; locate
            // made one only for names no given input provides.
            let mapped = self.by_file.get(&(me, name)).and_then(|&(p, rule)| {
                self.providers
                    .lookup_where(name, |&(q, _)| q == p)
                    .map(|(&(_, e), by)| {
                        let mut rule = rule.clone();
                        if let (Rule::Map { semver, .. }, MatchRule::Semver) = (&mut rule, by) {
                            *semver = true;
                        }
                        (p, e, rule)
                    })
            });
            match mapped {
                Some(m) => Some(m),
                None => match self.providers.lookup_where(name, |&(p, _)| p != me) {
                    Some((&(p, e), rule)) => {
                        if let Some(q) = self.rival(me, p, e, rule, name) {
                            let reason = format!(
                                "ambiguous: both `{}` and `{}` export `{}`; name one in a wiring file",
                                self.names[p.as_usize()],
                                self.names[q.as_usize()],
                                export_name(self.surveys[p.as_usize()], e)
                            );
                            self.problem(me, name, reason);
                        }
                        Some((p, e, Rule::from(rule)))
                    }
                    None => None,
                },
            }
        } else {
            None
        };
        let Some((provider, export, rule)) = found else {
            return if is_host_namespace(name, &self.opts.hosts) {
                Target::Host
            } else if kind.by_name() {
                Target::Unresolved {
                    reason: "no other input exports it".to_string(),
                }
            } else {
                Target::Unresolved {
                    reason: format!("{} imports are wired only by a wiring entry", kind.name()),
                }
            };
        };
        if let Survey::Component(pc) = self.surveys[provider.as_usize()] {
            let theirs = Kind::of_export(pc.exports[export as usize].kind);
            if theirs != kind {
                let reason = format!(
                    "expected {}, but `{}` exports `{}` as {}",
                    kind.name(),
                    self.names[provider.as_usize()],
                    pc.exports[export as usize].name.name,
                    theirs.name()
                );
                self.problem(me, name, reason);
            }
        }
        Target::Input {
            provider,
            export,
            rule,
        }
    }

    fn problem(&mut self, me: InputId, import: &str, reason: String) {
        self.problems.push(Problem::new(
            self.names[me.as_usize()],
            Item::ComponentImport(import.to_string()),
            reason,
        ));
    }

    /// The content hash of an input, computed once.
    fn content(&self, i: InputId) -> blake3::Hash {
        *self.content[i.as_usize()].get_or_init(|| {
            blake3::hash(match self.surveys[i.as_usize()] {
                Survey::Component(c) => c.bytes,
                Survey::Module(m) => m.bytes,
            })
        })
    }

    /// A different input (other bytes) than `p` that offers the same export
    /// name, as good a match, for `me`'s import `name`.
    fn rival(&self, me: InputId, p: InputId, e: u32, rule: MatchRule, name: &str) -> Option<InputId> {
        let chosen = export_name(self.surveys[p.as_usize()], e);
        self.providers
            .lookup_where(name, |&(q, f)| {
                q != me
                    && q != p
                    && export_name(self.surveys[q.as_usize()], f) == chosen
                    && self.content(q) != self.content(p)
            })
            .filter(|(_, r)| *r == rule)
            .map(|(&(q, _), _)| q)
    }
}

fn export_name<'a>(s: &Survey<'a>, e: u32) -> &'a str {
    match s {
        Survey::Component(c) => c.exports[e as usize].name.name,
        Survey::Module(m) => m.exports[e as usize].name,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use weld_format::{survey, Inputs};

    /// Surveys WAT `items` (name, text) and hands their link names and
    /// surveys to `f`: the setup of the resolver's unit tests.
    pub(crate) fn with_surveys<R>(items: &[(&str, &str)], f: impl FnOnce(&[&str], &[&Survey<'_>]) -> R) -> R {
        let inputs =
            Inputs::from_memory(items.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
        let surveys: Vec<Survey> = inputs
            .iter()
            .map(|i| survey(&i.display, i.bytes()).unwrap())
            .collect();
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        let surveys: Vec<&Survey> = surveys.iter().collect();
        f(&names, &surveys)
    }

    fn run(items: &[(&str, &str)]) -> Resolution {
        with_surveys(items, |names, surveys| {
            resolve(&ResolveOptions::default(), names, surveys)
        })
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
