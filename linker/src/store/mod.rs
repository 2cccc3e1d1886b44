//! The content-addressed store and the two commands over it: [`split`] (nested
//! modules and components out to the store, replaced by imports in canonical
//! hash form) and [`bundle`] (the inverse, every blob verified). The store
//! itself is an OCI image layout directory ([`oci`]).

pub(crate) mod bundle;
pub(crate) mod oci;
pub(crate) mod split;

pub use oci::{Store, StoreError};
