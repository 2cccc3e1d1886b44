//! weld-format: bytes in, facts out.
//!
//! The stages of weld that only read bytes: [`load`] maps inputs and
//! classifies them, [`survey()`] records what each input holds in one zero-copy
//! pass, [`names`] parses and matches names (semver tracks, canonical hash
//! names), [`digest`] hashes. No graphs and no policy live here; that is
//! `weld-linker`.
//!
//! ```
//! use weld_format::{load::Inputs, survey::survey};
//! let inputs = Inputs::from_memory([("a", br#"(module (func (export "f")))"#.to_vec())]).unwrap();
//! let input = inputs.iter().next().unwrap();
//! let s = survey(&input.display, input.bytes()).unwrap();
//! assert_eq!(s.as_module().unwrap().exports[0].name, "f");
//! ```

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]
#![deny(unsafe_code)]

pub mod digest;
pub mod dylink;
pub mod error;
pub mod index;
pub mod limits;
pub mod load;
pub mod merge_ops;
pub mod merge_table_ops;
pub mod names;
pub mod rewrite;
pub mod sections;
pub mod survey;
pub mod type_encode;
pub mod validate;
pub mod wat;
pub mod write;

pub use error::{listed, one_line, InputName, Item, LoadError, Problem};
pub use index::*;
pub use load::{Input, InputSpec, Inputs, Kind};
pub use survey::{survey, ComponentSurvey, ModuleSurvey, Survey};
