//! End-to-end tests of `weld graph`, `weld hash` and `weld inspect` over the
//! demo corpus, and of bad inputs.

mod common;

use common::*;
use sha2::{Digest, Sha256};

#[test]
fn graph_chain_prints_instantiation_order() {
    let o = weld(&[&["graph".to_string()], &demo_set("chain")[..]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("order: c, b, a"), "{}", stdout(&o));
}

#[test]
fn graph_diamond_orders_shared_base_first() {
    let o = weld(&[&["graph".to_string()], &demo_set("diamond")[..]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("order: base, left, right, top"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn graph_cycle_exits_1_listing_every_edge() {
    let o = weld(&[&["graph".to_string()], &demo_set("cycle")[..]].concat());
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("a imports b.f -> b imports c.g -> c imports a.h"),
        "{err}"
    );
    // The report on stdout lists the cycle too, and no order.
    assert!(stdout(&o).contains("cycles: 1"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("order:"));
}

#[test]
fn graph_components_resolve_by_semver() {
    let o = weld(&[&["graph".to_string()], &demo_set("components")[..]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("app imports demo:greet/api@0.2.0 -> greeter exports demo:greet/api@0.2.3 [semver]"),
        "{text}"
    );
    assert!(text.contains("order: greeter, app"), "{text}");
}

#[test]
fn graph_json_and_dot_formats() {
    let mut args = vec!["graph".to_string(), "--format".into(), "json".into()];
    args.extend(demo_set("reexport"));
    let o = weld(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["order"], serde_json::json!(["lib", "mid", "app"]));
    assert_eq!(v["edges"].as_array().unwrap().len(), 2);

    args[2] = "dot".into();
    let o = weld(&args);
    let dot = stdout(&o);
    assert!(dot.starts_with("digraph weld {"), "{dot}");
    assert!(dot.contains("\"app\" -> \"mid\""), "{dot}");
}

#[test]
fn graph_reports_unresolved_and_host_imports() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.wat");
    std::fs::write(
        &a,
        r#"(module (import "env" "x" (func)) (import "b" "missing" (func)) (import "nobody" "y" (func)))"#,
    )
    .unwrap();
    let b = dir.path().join("b.wat");
    std::fs::write(&b, "(module)").unwrap();
    let o = weld(&["graph".as_ref(), a.as_os_str(), b.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("a imports b.missing: input `b` has no export `missing`"),
        "{text}"
    );
    assert!(
        text.contains("a imports nobody.y: no input is named `nobody`"),
        "{text}"
    );
    assert!(text.contains("a imports env: 1 import"), "{text}");
}

#[test]
fn hash_equals_sha256_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = wasm_of(dir.path(), "diamond/base.wat");
    let bytes = std::fs::read(&f).unwrap();
    let want: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let o = weld(&["hash".as_ref(), f.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains(&format!("sha256:         sha256:{want}")), "{text}");
    assert!(text.contains(&format!("canonical name: sha256-{want}")), "{text}");
    // And equal to the system's sha256sum where there is one.
    if let Ok(o) = std::process::Command::new("sha256sum").arg(&f).output() {
        let sum = String::from_utf8_lossy(&o.stdout);
        assert!(sum.starts_with(&want), "{sum}");
    }
}

#[test]
fn inspect_lists_counts_as_json() {
    let o = weld(&["inspect", "--json", &demo("diamond/base.wat")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "module");
    assert_eq!(v["module"]["total"]["funcs"], 2);
    assert_eq!(v["module"]["total"]["memories"], 1);
    assert_eq!(v["module"]["exports"].as_array().unwrap().len(), 3);
}

#[test]
fn inspect_component_lists_nested_module() {
    let o = weld(&["inspect", &demo("components/greeter.wat")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("demo:greet/api@0.2.3: instance"), "{text}");
    assert!(text.contains("core module 0 at"), "{text}");
}

/// Each broken input: exit 1 (not a panic's 101), one line on stderr that
/// names the file.
#[test]
fn broken_inputs_exit_1_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in broken_inputs() {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for cmd in ["inspect", "graph", "hash"] {
            let o = weld(&[cmd.as_ref(), path.as_os_str()]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{cmd} {name}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{cmd} {name}: {err}");
            assert!(err.contains(&path.display().to_string()), "{cmd} {name}: {err}");
        }
    }
}

#[test]
fn missing_file_and_usage_errors() {
    let o = weld(&["inspect", "/nonexistent/x.wasm"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/x.wasm"), "{}", stderr(&o));
    let o = weld(&["graph"]);
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");
    let o = weld(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `weld inspect` on a real 10+ MB module agrees with `wasm-tools objdump`
/// (1.263: 68 imports, 16346 functions, 17 exports) and with a plain count of
/// the section headers. Needs `corpus/fetch swc-wasm` (run by `.ci/run`).
#[test]
fn inspect_real_module_matches_objdump_counts() {
    let Some(path) = real_binary("swc-wasm") else {
        return;
    };
    let o = weld(&["inspect".as_ref(), "--json".as_ref(), path.as_os_str()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = &v["module"];
    let (imports, defined, exports) = (
        m["imports"].as_array().unwrap().len() as u64,
        m["defined"]["funcs"].as_u64().unwrap(),
        m["exports"].as_array().unwrap().len() as u64,
    );
    assert_eq!((imports, defined, exports), (68, 16346, 17));

    // Independently: the counts in the section headers.
    let bytes = std::fs::read(&path).unwrap();
    let mut counts = (0u64, 0u64, 0u64);
    for p in wasmparser::Parser::new(0).parse_all(&bytes) {
        match p.unwrap() {
            wasmparser::Payload::ImportSection(r) => counts.0 = r.count() as u64,
            wasmparser::Payload::FunctionSection(r) => counts.1 = r.count() as u64,
            wasmparser::Payload::ExportSection(r) => counts.2 = r.count() as u64,
            _ => {}
        }
    }
    assert_eq!(counts, (imports, defined, exports));
}

#[test]
fn reads_standard_input() {
    use std::io::Write;
    let bytes = wat::parse_file(root().join("corpus/demo/chain/b.wat")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_weld"))
        .args(["inspect", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.starts_with("<stdin> (stdin): module"), "{text}");
    assert!(text.contains("c.base: (type 0)"), "{text}");
}

/// An unsigned LEB128 at `pos`: (value, the position after it).
fn leb(bytes: &[u8], mut pos: usize) -> (u64, usize) {
    let (mut value, mut shift) = (0u64, 0);
    loop {
        let b = bytes[pos];
        pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return (value, pos);
        }
    }
}

/// Where each item a reader of `bytes` must read whole begins: every
/// section's size field and contents, and in the code section the count, each
/// body's size field and each body. Also returns where each section ends.
fn item_starts(bytes: &[u8]) -> (Vec<usize>, Vec<usize>) {
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    let mut pos = 8;
    while pos < bytes.len() {
        let id = bytes[pos];
        let (size, contents) = leb(bytes, pos + 1);
        starts.extend([pos + 1, contents]);
        if id == 10 {
            let (count, mut at) = leb(bytes, contents);
            for _ in 0..count {
                let (len, body) = leb(bytes, at);
                starts.extend([at, body]);
                at = body + len as usize;
            }
        }
        pos = contents + size as usize;
        ends.push(pos);
    }
    (starts, ends)
}

/// A module cut anywhere inside a section is an error naming the input and
/// the offset where the item it could not finish begins (a section's
/// contents, or in the code section the body), computed here from the
/// section headers independently of weld. The CLI prints the same offset.
#[test]
fn truncated_module_is_an_error_with_offset() {
    for text in [
        "(module (func (export \"a\") (result i32) i32.const 1))".to_string(),
        std::fs::read_to_string(root().join("corpus/demo/chain/b.wat")).unwrap(),
    ] {
        let bytes = wat::parse_str(&text).unwrap();
        let (starts, ends) = item_starts(&bytes);
        // A cut between sections can leave a valid shorter module (or one
        // wrong as a whole, not truncated); a cut inside a section never does.
        for cut in (9..bytes.len()).filter(|c| !ends.contains(c)) {
            let want = starts.iter().copied().filter(|s| *s <= cut).max().unwrap();
            let e = weld_format::survey("t", &bytes[..cut]).unwrap_err();
            assert_eq!(e.input, "t");
            assert_eq!(e.offset, Some(want as u64), "cut at {cut:#x}: {e}");
            let shown = e.to_string();
            assert!(shown.starts_with("t: "), "{shown}");
            assert!(
                shown.ends_with(&format!("(at offset {want:#x})")),
                "cut at {cut:#x}: {shown}"
            );
        }
        // Through the CLI: the last byte cut off.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.wasm");
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let want = starts.iter().copied().filter(|s| *s < bytes.len()).max().unwrap();
        let o = weld(&["inspect".as_ref(), path.as_os_str()]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(err.contains(&format!("(at offset {want:#x})")), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
}

/// A command that prints a report ends quietly when its reader goes away
/// (every command prints through one writer, `src/cli/mod.rs` `print`) (`weld inspect --json big.wasm | head -1`): no panic, nothing on
/// stderr, the status a shell gives SIGPIPE (141).
#[test]
fn a_closed_pipe_ends_every_printing_command_quietly() {
    use std::io::Read;
    // A report far bigger than a pipe's buffer: a generated module with
    // thousands of exports.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.wat");
    let mut wat = String::from("(module\n");
    for i in 0..20_000 {
        wat.push_str(&format!(
            "(func (export \"function_number_{i}\") (result i32) i32.const {i})\n"
        ));
    }
    wat.push(')');
    std::fs::write(&big, wat).unwrap();
    let big = big.display().to_string();
    for args in [
        vec!["inspect", "--json", big.as_str()],
        vec!["inspect", big.as_str()],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_weld"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line's worth, then hang up.
        let mut first = [0u8; 16];
        child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(141), "{args:?}: {}", stderr(&o));
        assert!(o.stderr.is_empty(), "{args:?}: {}", stderr(&o));
    }
}
