//! weld's fuzz targets; see `targets.rs`. `exec` (shared with the tests)
//! runs modules in wasmi for the differential checks.

#[path = "../../tests/common/exec.rs"]
pub mod exec;
pub mod targets;
