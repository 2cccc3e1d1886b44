//! The packages the WAC tests compose: small components written in WAT,
//! laid out as wac's deps directory expects.
#![allow(dead_code)]

use std::path::Path;

/// An instance export `name` = `{ next: func() -> u32 }`, `next` returning
/// `value`.
pub fn counter(name: &str, value: u32) -> String {
    format!(
        r#"(component
  (core module $m (func (export "next") (result i32) i32.const {value}))
  (core instance $i (instantiate $m))
  (func $next (result u32) (canon lift (core func $i "next")))
  (instance $api (export "next" (func $next)))
  (export "{name}" (instance $api)))"#
    )
}

/// Imports `from` (`{ next }`), exports `to` whose `next` is `factor` times
/// the import's.
pub fn scaler(from: &str, to: &str, factor: u32) -> String {
    format!(
        r#"(component
  (import "{from}" (instance $in (export "next" (func (result u32)))))
  (alias export $in "next" (func $f))
  (core func $lowered (canon lower (func $f)))
  (core module $m
    (import "in" "next" (func $n (result i32)))
    (func (export "next") (result i32) call $n i32.const {factor} i32.mul))
  (core instance $ii (export "next" (func $lowered)))
  (core instance $i (instantiate $m (with "in" (instance $ii))))
  (func $next (result u32) (canon lift (core func $i "next")))
  (instance $api (export "next" (func $next)))
  (export "{to}" (instance $api)))"#
    )
}

/// Imports `a` and `b` (each `{ next }`), exports `run` = their sum.
pub fn sum(a: &str, b: &str) -> String {
    format!(
        r#"(component
  (import "{a}" (instance $a (export "next" (func (result u32)))))
  (import "{b}" (instance $b (export "next" (func (result u32)))))
  (alias export $a "next" (func $fa))
  (alias export $b "next" (func $fb))
  (core func $la (canon lower (func $fa)))
  (core func $lb (canon lower (func $fb)))
  (core module $m
    (import "in" "a" (func $a (result i32)))
    (import "in" "b" (func $b (result i32)))
    (func (export "run") (result i32) call $a call $b i32.add))
  (core instance $ii (export "a" (func $la)) (export "b" (func $lb)))
  (core instance $i (instantiate $m (with "in" (instance $ii))))
  (func $run (result u32) (canon lift (core func $i "run")))
  (export "run" (func $run)))"#
    )
}

/// Imports `from` (`{ next }`), exports `run` = its `next`.
pub fn front(from: &str) -> String {
    format!(
        r#"(component
  (import "{from}" (instance $in (export "next" (func (result u32)))))
  (alias export $in "next" (func $f))
  (export "run" (func $f)))"#
    )
}

/// Imports the function `seed`, exports `next` = seed + 1 at top level (so
/// the instance itself is a `{ next }`).
pub const FLAT: &str = r#"(component
  (import "seed" (func $seed (result u32)))
  (core func $lowered (canon lower (func $seed)))
  (core module $m
    (import "in" "seed" (func $s (result i32)))
    (func (export "next") (result i32) call $s i32.const 1 i32.add))
  (core instance $ii (export "seed" (func $lowered)))
  (core instance $i (instantiate $m (with "in" (instance $ii))))
  (func $next (result u32) (canon lift (core func $i "next")))
  (export "next" (func $next)))"#;

pub const COUNTER: &str = "demo:counter/api@1.0.0";
pub const DOUBLER: &str = "demo:doubler/api@1.0.0";
pub const TRIPLER: &str = "demo:tripler/api@1.0.0";

/// The packages, in wac's deps layout under `dir`: versioned ones as
/// `ns/pkg/VERSION.wasm`.
pub fn packages(dir: &Path) {
    let put = |rel: &str, wat: &str| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    };
    put("demo/counter.wasm", &counter(COUNTER, 7));
    put("demo/doubler/1.0.0.wasm", &scaler(COUNTER, DOUBLER, 2));
    put("demo/tripler/2.0.0.wasm", &scaler(COUNTER, TRIPLER, 3));
    put("demo/sum.wasm", &sum(DOUBLER, TRIPLER));
    put("demo/front.wasm", &front(TRIPLER));
    put("demo/flat.wasm", FLAT);
}
