//! Validation of outputs: every section in order, then every function body
//! in parallel.

use rayon::prelude::*;
use wasmparser::types::Types;
use wasmparser::{
    BinaryReaderError, FuncToValidate, FuncValidatorAllocations, FunctionBody, Payload, ValidPayload,
    Validator, ValidatorResources, WasmFeatures, WasmModuleResources,
};

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
///
/// In a core module the validator sees only the code section's first
/// entry: the later ones cost it an entry each (a reference count and a
/// type lookup) for bodies that are mostly not checked here. weld frames
/// them, checks their size limit and makes the validators of the picked
/// ones itself, with the resources of the first entry.
pub fn validate_bodies(
    bytes: &[u8],
    bodies: &(dyn Fn(u32) -> bool + Sync),
) -> Result<Types, BinaryReaderError> {
    validate_with(bytes, features_for(bytes), bodies)
}

/// [`validate_bodies`] with the features given.
pub fn validate_with(
    bytes: &[u8],
    features: WasmFeatures,
    bodies: &(dyn Fn(u32) -> bool + Sync),
) -> Result<Types, BinaryReaderError> {
    let core = !wasmparser::Parser::is_component(bytes);
    let mut validator = Validator::new_with_features(features);
    let mut funcs = Vec::new();
    // Nested modules and components end too; the outermost ends last.
    let mut types = None;
    // In a core module's code section, after its first entry: the
    // resources and the next entry's function index.
    let mut code: Option<(ValidatorResources, u32)> = None;
    // The parser checks the encodings it reads against the same features.
    let mut parser = wasmparser::Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(bytes) {
        let payload = payload?;
        if let (Payload::CodeSectionEntry(body), Some((resources, next))) = (&payload, &mut code) {
            let index = *next;
            *next += 1;
            if too_large(body) {
                // The validator's own error.
                validator.payload(&payload)?;
            }
            if bodies(index) {
                // (The validator matched the entry count to the functions.)
                let ty = resources
                    .type_index_of_function(index)
                    .ok_or_else(|| crate::sections::eof(body.range().start as usize))?;
                let to_validate = FuncToValidate {
                    resources: resources.clone(),
                    index,
                    ty,
                    features,
                };
                funcs.push((to_validate, body.clone()));
            }
            continue;
        }
        match validator.payload(&payload)? {
            ValidPayload::Func(to_validate, body) => {
                if core {
                    code = Some((to_validate.resources.clone(), to_validate.index + 1));
                }
                if bodies(to_validate.index) {
                    funcs.push((to_validate, body));
                }
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

/// Whether a body is over the validator's size limit (which only its
/// per-entry check enforces).
pub fn too_large(body: &FunctionBody<'_>) -> bool {
    body.range().end - body.range().start > crate::limits::MAX_FUNCTION_SIZE as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{CodeSection, Function, FunctionSection, Module, TypeSection};

    /// A module of `[] -> []` functions with these bodies (instructions, no
    /// `end`).
    fn module(bodies: &[&[u8]]) -> Vec<u8> {
        let mut types = TypeSection::new();
        types.ty().function([], []);
        let (mut funcs, mut code) = (FunctionSection::new(), CodeSection::new());
        for b in bodies {
            funcs.function(0);
            let mut f = Function::new([]);
            f.raw(b.iter().copied().chain([0x0b]));
            code.function(&f);
        }
        let mut m = Module::new();
        m.section(&types).section(&funcs).section(&code);
        m.finish()
    }

    #[test]
    fn bodies_past_the_first_entry_are_picked_and_checked() {
        // `i32.const 1` left on the stack of a `[] -> []` function.
        let bad: &[u8] = &[0x41, 0x01];
        let bytes = module(&[&[], &[0x01], bad]);
        assert!(validate(&bytes, false).is_ok());
        let e = validate(&bytes, true).err().unwrap().to_string();
        assert!(e.contains("type mismatch"), "{e}");
        assert!(validate_bodies(&bytes, &|f| f == 1).is_ok());
        assert!(validate_bodies(&bytes, &|f| f == 2).is_err());
        // The first entry is the validator's own; it is checked as well.
        assert!(validate_bodies(&module(&[bad, &[]]), &|f| f == 0).is_err());
    }

    #[test]
    fn a_body_over_the_size_limit_is_refused_without_being_picked() {
        let big = vec![0x01; crate::limits::MAX_FUNCTION_SIZE];
        let bytes = module(&[&[], &big]);
        let e = validate(&bytes, false).err().unwrap().to_string();
        assert!(e.contains("function body size count exceeds limit"), "{e}");
    }
}
