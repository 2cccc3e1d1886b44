//! Every implementation limit of weld-linker, in one place.

/// The most cycles one error lists; the rest are counted.
pub const MAX_REPORTED_CYCLES: usize = 64;

/// The validator's limit on modules and components in one validation,
/// nested ones and the outermost component included (wasmparser's
/// `MAX_WASM_MODULES_AND_COMPONENTS`).
pub const MAX_MODULES_AND_COMPONENTS: usize = 1000;
/// The validator's limit on components in one component's index space.
pub const MAX_COMPONENTS: usize = 1000;

/// The validator's limit on memories in one module (wasmparser's
/// `MAX_WASM_MEMORIES`); `fuse --merge-memories` writes one instead.
pub const MAX_MEMORIES: usize = 100;
/// The validator's limit on tables in one module (wasmparser's
/// `MAX_WASM_TABLES`).
pub const MAX_TABLES: usize = 100;

/// The deepest chain of blobs bundle follows (a component importing a
/// component importing one ...); deeper is an error, not a stack overflow.
pub const MAX_BUNDLE_DEPTH: usize = 100;
