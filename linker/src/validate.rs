//! Validation of outputs: every section in order, then every function body
//! in parallel.

use rayon::prelude::*;
use wasmparser::types::Types;
use wasmparser::{BinaryReaderError, FuncValidatorAllocations, ValidPayload, Validator, WasmFeatures};

/// Validates a module or component with all features and returns its types.
/// With `bodies` false, function bodies are not checked (types, imports,
/// instantiations and everything else still are). The error reported is the
/// first in file order: any section error, else the first failing body.
pub fn validate(bytes: &[u8], bodies: bool) -> Result<Types, BinaryReaderError> {
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let mut funcs = Vec::new();
    // Nested modules and components end too; the outermost ends last.
    let mut types = None;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match validator.payload(&payload?)? {
            ValidPayload::Func(to_validate, body) if bodies => funcs.push((to_validate, body)),
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
