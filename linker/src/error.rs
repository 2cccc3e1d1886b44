//! The errors of weld-linker: one enum per stage, gathered under [`Error`].

use weld_format::{LoadError, SurveyError};

use crate::graph::Cycle;

/// The dependency graph cannot be instantiated.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Inputs import each other in a cycle; every cycle is listed.
    #[error("{}", format_cycles(.cycles, *.more))]
    Cycles {
        /// Every cycle found, each as its edges in order.
        cycles: Vec<Cycle>,
        /// Edges on cycles left out of the list (over the reporting cap).
        more: usize,
    },
}

fn format_cycles(cycles: &[Cycle], more: usize) -> String {
    let mut s = format!(
        "{} import cycle{} (modules in a cycle cannot be instantiated one by one):",
        cycles.len(),
        if cycles.len() == 1 { "" } else { "s" }
    );
    for c in cycles {
        s.push_str("\n  ");
        s.push_str(&c.to_string());
    }
    if more > 0 {
        s.push_str(&format!("\n  ... and {more} more edges on cycles"));
    }
    s
}

/// Any failure of a weld-linker operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// An input is malformed.
    #[error(transparent)]
    Survey(#[from] SurveyError),
    /// The dependency graph is not instantiable.
    #[error(transparent)]
    Graph(#[from] GraphError),
}
