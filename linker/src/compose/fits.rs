//! Whether the composed component will fit the validator's limits, decided
//! before it is built, and the hoisting that makes it fit.
//!
//! Input: the children instantiated, their contents and the hoisting
//! decision. Output: the hoisting to use, or one [`ComposeError::Limit`]
//! naming the limit and the count and blaming no input. Invariant: a result
//! that passes here never fails validation for its counts. Cost: one
//! top-level section walk per embedded content (nested components walked
//! too); at most two hoisting passes.

use weld_format::ContentId;

use super::hoist::{hoist, Hoist};
use super::wire::{Children, Wiring};
use crate::error::{ComposeError, ComposeLimit};
use crate::limits::{MAX_COMPONENTS, MAX_MODULES_AND_COMPONENTS};

/// The core modules several distinct children share, defined once. Past the
/// validator's module limit, small shared modules are hoisted too, whatever
/// `min_size` says: that is what lets the result exist. Only the children
/// embedded (instantiated) take part; the others are left out of the result
/// altogether.
pub fn hoist_to_fit<'a>(
    children: &Children<'_>,
    wiring: &Wiring,
    contents: &[&'a [u8]],
    min_size: usize,
) -> Result<Hoist<'a>, ComposeError> {
    let mut used = vec![false; contents.len()];
    for &c in &wiring.order {
        used[children[c].content.as_usize()] = true;
    }
    let hoisted = hoist(contents, &used, min_size);
    match check(children, wiring, contents, &hoisted) {
        Err(_) if min_size > 0 && min_size != usize::MAX => {
            let all = hoist(contents, &used, 0);
            check(children, wiring, contents, &all)?;
            Ok(all)
        }
        r => r.map(|()| hoisted),
    }
}

/// Modules and components in `bytes`, itself and nested ones at any depth.
fn modules_and_components(bytes: &[u8]) -> usize {
    let mut n = 1;
    if let Ok(secs) = weld_format::sections::sections(bytes) {
        for s in &secs {
            match (&s.payload, s.nested()) {
                (wasmparser::Payload::ModuleSection { .. }, _) => n += 1,
                (wasmparser::Payload::ComponentSection { .. }, Some(r)) => {
                    n += modules_and_components(&bytes[r])
                }
                _ => {}
            }
        }
    }
    n
}

/// The validator's limits the output would pass, checked before it is
/// built.
fn check(
    children: &Children<'_>,
    wiring: &Wiring,
    contents: &[&[u8]],
    hoist: &Hoist<'_>,
) -> Result<(), ComposeError> {
    let hoisted = hoist.modules.len();
    let mut embedded: Vec<ContentId> = wiring.order.iter().map(|&c| children[c].content).collect();
    embedded.sort();
    embedded.dedup();
    let distinct = embedded.len();
    if distinct > MAX_COMPONENTS {
        return Err(ComposeError::Limit {
            what: ComposeLimit::Components { distinct },
            count: distinct,
            limit: MAX_COMPONENTS,
        });
    }
    let inside: usize = embedded
        .iter()
        .map(|k| {
            let k = k.as_usize();
            modules_and_components(hoist.rewritten[k].as_deref().unwrap_or(contents[k]))
        })
        .sum();
    let count = 1 + hoisted + inside;
    if count > MAX_MODULES_AND_COMPONENTS {
        return Err(ComposeError::Limit {
            what: ComposeLimit::ModulesAndComponents {
                distinct,
                inside,
                hoisted,
            },
            count,
            limit: MAX_MODULES_AND_COMPONENTS,
        });
    }
    Ok(())
}
