//! Reports: what `weld graph`, `weld inspect`, `weld hash` and `weld size` print. They read
//! the survey and the resolver's answer; nothing here writes a binary.

pub(crate) mod graph;
pub(crate) mod inspect;
pub(crate) mod size;
pub(crate) mod source;
