//! The bare-parse floor, shared by `benches/tools/floor.rs` and the
//! criterion benches: read every operator of every input with wasmparser
//! (files and function bodies in parallel) and nothing else.

use rayon::prelude::*;

/// Reads every operator of `files` (valid modules); returns how many.
pub fn read_every_operator(files: &[Vec<u8>]) -> usize {
    files
        .par_iter()
        .map(|bytes| {
            let bodies: Vec<_> = wasmparser::Parser::new(0)
                .parse_all(bytes)
                .filter_map(|p| match p.expect("a valid module") {
                    wasmparser::Payload::CodeSectionEntry(b) => Some(b),
                    _ => None,
                })
                .collect();
            bodies
                .par_iter()
                .map(|b| {
                    let mut r = b.get_operators_reader().expect("a body");
                    let mut n = 0usize;
                    while !r.eof() {
                        r.read().expect("an operator");
                        n += 1;
                    }
                    n
                })
                .sum::<usize>()
        })
        .sum()
}
