//! Tests that run composed components in wasmtime live in `tests/`; this
//! crate has no library code of its own.
