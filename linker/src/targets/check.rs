//! The per-item checks of `weld targets`.
//!
//! Names first: the component's imports are matched against the world's
//! imports, and the world's exports against the component's exports, by
//! the semver rule ([`ProviderIndex`], one hash lookup each).
//!
//! Then types, by the validator, never by comparing printed text: for each
//! matched item a small component is synthesized from the component's own
//! WIT (decoded from its binary) that imports (or exports) only that item
//! and the interfaces it uses, and `wit-component`'s `targets` checks it
//! against the world, semver-aware. Items are checked dependencies first, so
//! an item that fails only because an interface it uses fails is reported
//! as not checked, naming that interface. Last, the whole component is
//! checked once, which confirms the per-item verdicts add up.

use std::collections::{HashMap, HashSet};

use weld_format::names::{version_of, MatchRule, ProviderIndex};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{InterfaceId, ManglingAndAbi, Resolve, WorldId, WorldItem, WorldKey};

use super::wit_text::{differences, members};
use super::world::{one_line, wit, TargetWorld};
use super::{Direction, Status, TargetItem, TargetsReport};
use crate::error::{TargetsError, TargetsProblem};

pub(crate) fn check(
    target: &TargetWorld,
    name: &str,
    component: &[u8],
) -> Result<TargetsReport, TargetsError> {
    let bad = |reason: TargetsProblem| TargetsError::Component {
        component: name.to_string(),
        reason,
    };
    if !wasmparser::Parser::is_component(component) {
        return Err(bad(TargetsProblem::NotAComponent));
    }
    let (mut rc, wc) = match wit_component::decode(component).map_err(|e| bad(wit(e)))? {
        wit_component::DecodedWasm::Component(r, w) => (r, w),
        wit_component::DecodedWasm::WitPackage(..) => return Err(bad(TargetsProblem::WitPackage)),
    };
    let mut rw = target.resolve.clone();
    let ww = target.world;
    let mut fresh = 0u32;

    let c_imports = items(&rc, &rc.worlds[wc].imports);
    let c_exports = items(&rc, &rc.worlds[wc].exports);
    let w_imports = items(&rw, &rw.worlds[ww].imports);
    let w_exports = items(&rw, &rw.worlds[ww].exports);
    fn index(list: &[(String, WorldKey)]) -> ProviderIndex<'_, usize> {
        let mut ix = ProviderIndex::new();
        for (k, (n, _)) in list.iter().enumerate() {
            ix.insert(n.as_str(), k);
        }
        ix
    }
    let (w_import_ix, c_export_ix) = (index(&w_imports), index(&c_exports));

    // The world without its exports: what every import is checked against.
    let w_all_imports = sub_world(&mut rw, ww, |_| true, |_| false, &mut fresh);
    let mut report = Vec::new();
    // Per component import: its verdict so far (by key), for dependents.
    let mut failed: HashMap<WorldKey, String> = HashMap::new();
    // Worlds are elaborated: each interface comes after the ones it uses,
    // so in import order an item's dependencies have their verdicts.
    for (cname, ckey) in &c_imports {
        // World-level type imports are checked with what uses them.
        if matches!(rc.worlds[wc].imports[ckey], WorldItem::Type { .. }) {
            continue;
        }
        let found = w_import_ix.lookup(cname).map(|(&j, rule)| (j, rule));
        let mut item = TargetItem {
            direction: Direction::Import,
            name: cname.clone(),
            matched: found.map(|(j, _)| w_imports[j].0.clone()),
            status: Status::Missing,
        };
        if let Some((j, rule)) = found {
            let deps = closure(&rc, wc, ckey);
            if let Some(dep) = deps.iter().find_map(|d| failed.get(d).filter(|_| d != ckey)) {
                item.status = Status::Unchecked {
                    because: format!("it uses `{dep}`, which does not fit"),
                };
            } else {
                let dummy = dummy(&mut rc, wc, |key| deps.contains(key), |_| false, &mut fresh)
                    .map_err(|e| bad(wit(e)))?;
                item.status = match wit_component::targets(&rw, w_all_imports, &dummy, true) {
                    Ok(()) => verdict(cname, &w_imports[j].0, rule),
                    Err(e) => {
                        let theirs = &rw.worlds[ww].imports[&w_imports[j].1];
                        let ours = &rc.worlds[wc].imports[ckey];
                        mismatch(
                            "the component expects",
                            &members(&rc, ours),
                            &format!("the world's `{}`", w_imports[j].0),
                            &members(&rw, theirs),
                            &e,
                        )
                    }
                };
            }
        }
        if !item.ok() {
            failed.insert(ckey.clone(), cname.clone());
        }
        report.push(item);
    }

    for (wname, wkey) in &w_exports {
        let found = c_export_ix.lookup(wname).map(|(&j, rule)| (j, rule));
        let mut item = TargetItem {
            direction: Direction::Export,
            name: wname.clone(),
            matched: found.map(|(j, _)| c_exports[j].0.clone()),
            status: Status::Missing,
        };
        if let Some((j, rule)) = found {
            let ckey = &c_exports[j].1;
            let deps = closure(&rc, wc, ckey);
            if let Some(dep) = deps.iter().find_map(|d| failed.get(d)) {
                item.status = Status::Unchecked {
                    because: format!("it uses `{dep}`, which does not fit"),
                };
            } else {
                let c_one = dummy(
                    &mut rc,
                    wc,
                    |key| deps.contains(key),
                    |key| key == ckey || deps.contains(key),
                    &mut fresh,
                )
                .map_err(|e| bad(wit(e)))?;
                let w_deps = closure(&rw, ww, wkey);
                let w_one = sub_world(
                    &mut rw,
                    ww,
                    |_| true,
                    |key| key == wkey || w_deps.contains(key),
                    &mut fresh,
                );
                item.status = match wit_component::targets(&rw, w_one, &c_one, true) {
                    Ok(()) => verdict(wname, &c_exports[j].0, rule),
                    Err(e) => mismatch(
                        "the world expects",
                        &members(&rw, &rw.worlds[ww].exports[wkey]),
                        &format!("the component's `{}`", c_exports[j].0),
                        &members(&rc, &rc.worlds[wc].exports[ckey]),
                        &e,
                    ),
                };
            }
        }
        report.push(item);
    }

    let items_ok = report.iter().all(TargetItem::ok);
    // The whole component, once. A world-level type of the component (WIT
    // `type files = ...` beside its exported functions) is an import of a
    // type bounded by equality, which any host satisfies (wasmtime
    // instantiates such components), but which a world that does not name
    // it fails in this check; the per-item checks cover such components.
    let type_imports = rc.worlds[wc]
        .imports
        .values()
        .any(|i| matches!(i, WorldItem::Type { .. }));
    let overall = if type_imports {
        None
    } else {
        match wit_component::targets(&target.resolve, target.world, component, true) {
            Ok(()) => None,
            Err(e) => Some(one_line(&e)),
        }
    };
    Ok(TargetsReport {
        world: target.name(),
        component: name.to_string(),
        conforms: items_ok && overall.is_none(),
        overall: if items_ok { overall } else { None },
        items: report,
    })
}

/// `exact`, or `semver from -> to`.
fn verdict(asked: &str, found: &str, rule: MatchRule) -> Status {
    match rule {
        MatchRule::Exact => Status::Exact,
        MatchRule::Semver => Status::Semver {
            from: version_of(asked).map(|v| v.to_string()).unwrap_or_default(),
            to: version_of(found).map(|v| v.to_string()).unwrap_or_default(),
        },
    }
}

/// A type mismatch: what the needing side has that the other lacks, both
/// in WIT syntax, and the validator's reason.
fn mismatch(wanting: &str, wanted: &[String], other: &str, have: &[String], e: &anyhow::Error) -> Status {
    let diffs = differences(wanted, have);
    let detail = if diffs.is_empty() {
        format!("{wanting} what {other} has, but their types differ")
    } else {
        diffs
            .iter()
            .map(|(ours, theirs)| match theirs {
                Some(t) => format!("{wanting} `{ours}`; {other} has `{t}`"),
                None => format!("{wanting} `{ours}`; {other} has nothing of that name"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    Status::TypeMismatch {
        detail,
        reason: root_cause(e),
    }
}

/// The validator's own words, without the wrapper's context.
fn root_cause(e: &anyhow::Error) -> String {
    let text = e.root_cause().to_string();
    let text = match text.rfind(" (at offset") {
        Some(at) => &text[..at],
        None => &text,
    };
    // The validator's context lines, outermost first; the first names the
    // synthesized wrapper, not anything of the user's.
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("`weld-targets-"))
        .collect::<Vec<_>>()
        .join(": ")
}

/// A world's items with their names as a component writes them.
fn items(resolve: &Resolve, map: &indexmap::IndexMap<WorldKey, WorldItem>) -> Vec<(String, WorldKey)> {
    map.keys()
        .map(|k| (resolve.name_world_key(k), k.clone()))
        .collect()
}

/// The keys of `key` and of every import or export of `world` it uses,
/// transitively (interfaces through their `use`s). A world-level function
/// may use world-level types: for one, those are included too, with the
/// interfaces they come from.
fn closure(resolve: &Resolve, world: WorldId, key: &WorldKey) -> HashSet<WorldKey> {
    let w = &resolve.worlds[world];
    let mut key_of: HashMap<InterfaceId, &WorldKey> = HashMap::new();
    for (k, item) in w.imports.iter().chain(w.exports.iter()) {
        if let WorldItem::Interface { id, .. } = item {
            key_of.entry(*id).or_insert(k);
        }
    }
    let mut out: HashSet<WorldKey> = HashSet::new();
    out.insert(key.clone());
    let mut work: Vec<InterfaceId> = Vec::new();
    let item = w.imports.get(key).or_else(|| w.exports.get(key));
    match item {
        Some(WorldItem::Interface { id, .. }) => work.push(*id),
        Some(WorldItem::Function(_)) => {
            for (k, item) in &w.imports {
                if let WorldItem::Type { id, .. } = item {
                    out.insert(k.clone());
                    work.extend(resolve.type_interface_dep(*id));
                }
            }
        }
        _ => {}
    }
    let mut seen: HashSet<InterfaceId> = HashSet::new();
    while let Some(i) = work.pop() {
        if !seen.insert(i) {
            continue;
        }
        if let Some(k) = key_of.get(&i) {
            out.insert((*k).clone());
        }
        work.extend(resolve.interface_direct_deps(i));
    }
    out
}

/// A copy of `base` keeping the imports and exports asked for.
fn sub_world(
    resolve: &mut Resolve,
    base: WorldId,
    imports: impl Fn(&WorldKey) -> bool,
    exports: impl Fn(&WorldKey) -> bool,
    fresh: &mut u32,
) -> WorldId {
    let mut w = resolve.worlds[base].clone();
    *fresh += 1;
    w.name = format!("weld-targets-{fresh}");
    w.imports.retain(|k, _| imports(k));
    w.exports.retain(|k, _| exports(k));
    let (pkg, name) = (w.package, w.name.clone());
    let id = resolve.worlds.alloc(w);
    if let Some(p) = pkg {
        resolve.packages[p].worlds.insert(name, id);
    }
    id
}

/// A component of a sub-world of `base`: a dummy core module wrapped by
/// `wit-component`, whose types are those of the WIT.
fn dummy(
    resolve: &mut Resolve,
    base: WorldId,
    imports: impl Fn(&WorldKey) -> bool,
    exports: impl Fn(&WorldKey) -> bool,
    fresh: &mut u32,
) -> anyhow::Result<Vec<u8>> {
    let id = sub_world(resolve, base, imports, exports, fresh);
    let mut module = wit_component::dummy_module(resolve, id, ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(&mut module, resolve, id, StringEncoding::UTF8, false)?;
    ComponentEncoder::default()
        .module(&module)?
        .validate(false)
        .encode()
}
