//! The spec test suite runs from `tests/spec.rs`; this crate has no
//! library code of its own.
