//! The floor for any rewriting linker: read every operator of every input
//! with wasmparser (function bodies in parallel) and nothing else.
//!
//!     cargo run --release --example floor -- a.wasm b.wasm ...
//!
//! Prints the operator count; time it from outside (benches/compare does).

use rayon::prelude::*;

fn main() {
    let files: Vec<Vec<u8>> = std::env::args()
        .skip(1)
        .map(|p| std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();
    let operators: usize = files
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
        .sum();
    println!("{operators} operators");
}
