//! The real pair of issue 19: a Python `wasi:cli/run` app and a layer that
//! virtualises `wasi:cli/environment`, both built by componentize-py 0.25.1
//! (`corpus/build-cpy-pair`, run by .ci/run). They share 11 byte-identical
//! core modules (libpython, libc, the runtime...); composed, each big one is
//! defined once, and the result runs in wasmtime (PyPI `wasmtime`, through
//! `corpus/cpy-pair/run.py`) printing the layer's values.

mod common;

use std::collections::HashMap;
use std::process::Command;

use common::{real_binary, root, stderr, stdout, weld};

/// The top-level core modules of a component: SHA-256 → size.
fn top_modules(bytes: &[u8]) -> HashMap<Vec<u8>, usize> {
    let mut out = HashMap::new();
    let mut depth = 0;
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        match p.unwrap() {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth -= 1,
            wasmparser::Payload::ModuleSection { unchecked_range, .. } if depth == 1 => {
                let m = &bytes[unchecked_range.start as usize..unchecked_range.end as usize];
                use sha2::Digest;
                out.insert(sha2::Sha256::digest(m).to_vec(), m.len());
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_componentize_py_pair_composes_with_shared_modules_once_and_prints_the_layers_values() {
    let (Some(app), Some(layer)) = (real_binary("cpy-app"), real_binary("cpy-layer")) else {
        return;
    };
    let a = std::fs::read(&app).unwrap();
    let b = std::fs::read(&layer).unwrap();
    let (ma, mb) = (top_modules(&a), top_modules(&b));
    let identical: usize = ma
        .iter()
        .filter(|(h, _)| mb.contains_key(*h))
        .map(|(_, s)| s)
        .sum();
    assert!(
        identical > 5_000_000,
        "the pair shares only {identical} bytes of modules"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("composed.wasm");
    let map = dir.path().join("map.json");
    let o = weld(&[
        "compose",
        app.to_str().unwrap(),
        "--plug",
        layer.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let composed = std::fs::read(&out).unwrap();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&composed)
        .unwrap();
    let sum = a.len() + b.len();
    eprintln!(
        "componentize-py pair: {} + {} = {sum} bytes, {identical} bytes of identical modules; composed {} bytes",
        a.len(),
        b.len(),
        composed.len()
    );
    assert!(
        composed.len() as f64 <= sum as f64 - 0.9 * identical as f64,
        "composed {} bytes; at most {sum} - 90% of {identical} wanted",
        composed.len()
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&map).unwrap()).unwrap();
    let hoisted = report["hoisted"].as_array().unwrap();
    assert!(hoisted.len() >= 8, "{report}");
    for h in hoisted {
        assert_eq!(h["users"].as_array().unwrap().len(), 2, "{h}");
        assert!(h["digest"].as_str().unwrap().starts_with("sha256:"));
    }
    // It runs and prints what the layer provides, not the host's values.
    let run = Command::new("python3")
        .arg(root().join("corpus/cpy-pair/run.py"))
        .arg(&out)
        .output()
        .unwrap();
    let text = stdout(&run);
    assert!(run.status.success(), "{text}{}", stderr(&run));
    assert!(text.contains("GREETING=hello from the layer"), "{text}");
    assert!(text.contains("args=['app', 'virtualised']"), "{text}");
}
