//! Part of stage 5, **plan**: the fused module's start. The plan, once
//! function indices are final → [`Start`]: none, one input's start used as
//! is, or a synthesized function.
//!
//! The fused module must behave like instantiating the inputs one by one.
//! Input by input in instantiation order, the synthesized start initialises
//! that input's deferred segments (`table.init` + `elem.drop`,
//! `memory.init` + `data.drop`, as instantiation would have applied them)
//! and then calls its start function. When that is one call and nothing
//! else, the input's start is used as is. Cost: O(segments + inputs).

use weld_format::{FuncIdx, Space};

use super::{Plan, Start, StartStep};
use crate::error::FuseError;
use crate::fuse::context::FuseCx;

/// The start of the fused module planned by `plan`, whose function indices
/// are final. A synthesized start is the function after every other, of
/// the type `[] -> []` (added to the type plan if no input has it).
pub(crate) fn start(cx: &FuseCx<'_, '_>, plan: &mut Plan<'_>) -> Result<Option<Start>, FuseError> {
    let FuseCx { files, modules, .. } = *cx;
    // Deferred segments and start calls, input by input.
    let mut steps = Vec::new();
    for &k in &plan.order {
        let ki = k.as_usize();
        let maps = &plan.maps[ki];
        steps.extend(
            maps.elems
                .iter()
                .filter(|e| plan.elem_segment(e.as_usize())[0].deferred)
                .map(|&e| StartStep::InitElem(e)),
        );
        steps.extend(
            maps.data
                .iter()
                .filter(|d| plan.data_segment(d.as_usize())[0].deferred)
                .map(|&d| StartStep::InitData(d)),
        );
        if let Some(s) = modules[ki].start {
            let f = maps.funcs.get(s.as_usize()).copied().ok_or_else(|| {
                FuseError::malformed(
                    files[ki],
                    "start section",
                    modules[ki].section_start(8),
                    format!("{s} out of range"),
                )
            })?;
            steps.push(StartStep::Call(f));
        }
    }
    Ok(match steps.as_slice() {
        [] => None,
        [StartStep::Call(f)] => Some(Start::Existing(*f)),
        _ => {
            let func = FuncIdx(plan.n_imports[Space::Func] + plan.funcs.len() as u32);
            Some(Start::Synthesized {
                func,
                ty: plan.types.empty_func(),
                steps,
            })
        }
    })
}
