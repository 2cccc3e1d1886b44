//! Every implementation limit of weld-format, in one place.

/// The most inputs one run accepts.
pub const MAX_INPUTS: usize = 100_000;

/// The deepest nesting of components and modules inside components that the
/// survey follows. Deeper inputs are refused rather than risking the stack.
pub const MAX_NESTING: usize = 64;

/// The most bytes of an unrecognised input quoted in an error message.
pub const MAX_QUOTED_BYTES: usize = 8;

/// The largest input accepted (wasmparser refuses larger modules anyway).
pub const MAX_INPUT_SIZE: u64 = 4 << 30;

/// The largest function body, in bytes (wasmparser's
/// `MAX_WASM_FUNCTION_SIZE`, the JS API's limit): checked where weld skips
/// the validator's own per-body entry.
pub const MAX_FUNCTION_SIZE: usize = 7_654_321;
