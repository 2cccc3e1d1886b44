//! The floor for any rewriting linker: read every operator of every input
//! with wasmparser (function bodies in parallel) and nothing else.
//!
//!     cargo run --release --example floor -- a.wasm b.wasm ...
//!
//! Prints the operator count; time it from outside (benches/compare does).

mod read_operators;

fn main() {
    let files: Vec<Vec<u8>> = std::env::args()
        .skip(1)
        .map(|p| std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();
    println!("{} operators", read_operators::read_every_operator(&files));
}
