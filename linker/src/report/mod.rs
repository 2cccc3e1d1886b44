//! Reports: what `weld graph`, `weld inspect` and `weld hash` print. They read
//! the survey and the resolver's answer; nothing here writes a binary.

pub(crate) mod graph;
pub(crate) mod inspect;
pub(crate) mod size;
