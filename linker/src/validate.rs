//! Validation of outputs: every section in order, then every function body
//! in parallel.

use rayon::prelude::*;
use wasmparser::types::Types;
use wasmparser::{BinaryReaderError, FuncValidatorAllocations, ValidPayload, Validator, WasmFeatures};

/// The features a core module is validated with: wasmparser's defaults (the
/// WebAssembly 3.0 set: GC, exceptions, threads, memory64, multi-memory,
/// tail calls, relaxed SIMD, extended constants; and wide arithmetic), plus
/// legacy exception handling (older Emscripten output) and custom page
/// sizes. Proposals still in design (stack switching, shared-everything
/// threads, custom descriptors, memory control) are refused, as
/// `wasm-tools validate` refuses them by default: the spec suite's
/// `assert_invalid` modules that only those proposals would allow stay
/// invalid. Components are validated with every feature (their core
/// modules come from toolchains that target the component model's own
/// feature set).
pub const CORE_FEATURES: WasmFeatures = WasmFeatures::WASM3
    .union(WasmFeatures::WIDE_ARITHMETIC)
    .union(WasmFeatures::LEGACY_EXCEPTIONS)
    .union(WasmFeatures::CUSTOM_PAGE_SIZES)
    .union(WasmFeatures::CALL_INDIRECT_OVERLONG)
    .union(WasmFeatures::BULK_MEMORY_OPT)
    .union(WasmFeatures::GC_TYPES)
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::COMPACT_IMPORTS);

/// The features `bytes` are validated with: [`CORE_FEATURES`] for a core
/// module, every feature for a component.
pub fn features_for(bytes: &[u8]) -> WasmFeatures {
    if wasmparser::Parser::is_component(bytes) {
        WasmFeatures::all()
    } else {
        CORE_FEATURES
    }
}

/// Validates a module or component (features: [`features_for`]) and
/// returns its types.
/// With `bodies` false, function bodies are not checked (types, imports,
/// instantiations and everything else still are). The error reported is the
/// first in file order: any section error, else the first failing body.
pub fn validate(bytes: &[u8], bodies: bool) -> Result<Types, BinaryReaderError> {
    validate_bodies(bytes, &|_| bodies)
}

/// [`validate`], checking the bodies of the functions (by index in the
/// module's function space) that `bodies` picks.
pub fn validate_bodies(
    bytes: &[u8],
    bodies: &(dyn Fn(u32) -> bool + Sync),
) -> Result<Types, BinaryReaderError> {
    let mut validator = Validator::new_with_features(features_for(bytes));
    let mut funcs = Vec::new();
    // Nested modules and components end too; the outermost ends last.
    let mut types = None;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match validator.payload(&payload?)? {
            ValidPayload::Func(to_validate, body) if bodies(to_validate.index) => {
                funcs.push((to_validate, body))
            }
            ValidPayload::End(t) => types = Some(t),
            _ => {}
        }
    }
    let types = types.ok_or_else(|| crate::sections::eof(bytes.len()))?;
    let first_error = funcs
        .into_par_iter()
        .map_init(
            FuncValidatorAllocations::default,
            |allocs, (to_validate, body)| {
                let mut v = to_validate.into_validator(std::mem::take(allocs));
                let result = v.validate(&body);
                *allocs = v.into_allocations();
                result.err()
            },
        )
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .next();
    match first_error {
        Some(e) => Err(e),
        None => Ok(types),
    }
}
