//! Every implementation limit of weld-linker, in one place.

/// The most cycles one error lists; the rest are counted.
pub const MAX_REPORTED_CYCLES: usize = 64;
