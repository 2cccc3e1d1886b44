//! Every implementation limit of weld-linker, in one place.

/// The largest function body, in bytes (wasmparser's
/// `MAX_WASM_FUNCTION_SIZE`, the JS API's limit): checked where weld skips
/// the validator's own per-body entry.
pub const MAX_FUNCTION_SIZE: usize = 7_654_321;

/// The most cycles one error lists; the rest are counted.
pub const MAX_REPORTED_CYCLES: usize = 64;

/// The validator's limit on modules and components in one validation,
/// nested ones and the outermost component included (wasmparser's
/// `MAX_WASM_MODULES_AND_COMPONENTS`).
pub const MAX_MODULES_AND_COMPONENTS: usize = 1000;
/// The validator's limit on components in one component's index space.
pub const MAX_COMPONENTS: usize = 1000;

/// The deepest chain of blobs bundle follows (a component importing a
/// component importing one ...); deeper is an error, not a stack overflow.
pub const MAX_BUNDLE_DEPTH: usize = 100;
