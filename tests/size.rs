//! `weld size`: every byte of a file in exactly one leaf of the tree, on
//! real components (jco, the componentize-py app), a real module fused by
//! weld and the demo corpus; the JSON of a demo component against its
//! snapshot; `--diff` whose changes sum to the difference of the sizes;
//! truncated and too-deeply nested input still reported, marked.

mod common;

use common::{demo, real_binary, stderr, stdout, weld};
use weld_linker::{size_tree, SizeNode};

fn check_every_byte(name: &str, bytes: &[u8]) -> SizeNode {
    let tree = size_tree(name, bytes);
    assert_eq!(tree.bytes, bytes.len() as u64, "{name}: root");
    assert_eq!(tree.leaf_bytes(), bytes.len() as u64, "{name}: leaves");
    // Each parent is the sum of its children, all the way down.
    fn sums(n: &SizeNode) {
        if !n.children.is_empty() {
            assert_eq!(
                n.bytes,
                n.children.iter().map(|c| c.bytes).sum::<u64>(),
                "{}",
                n.name
            );
            n.children.iter().for_each(sums);
        }
    }
    sums(&tree);
    tree
}

#[test]
fn every_byte_of_real_components_and_modules_is_counted_once() {
    let ids = [
        "jco-1.0.3-js-component-bindgen",
        "jco-1.0.3-wasm-tools",
        "jco-0.14.2-js-component-bindgen",
        "cpy-app",
        "swc-wasm",
    ];
    for id in ids {
        let Some(path) = real_binary(id) else { return };
        let bytes = std::fs::read(&path).unwrap();
        let tree = check_every_byte(id, &bytes);
        assert!(
            tree.leaves().iter().all(|(p, _)| !p.contains("unreadable")),
            "{id}"
        );
        if id == "cpy-app" {
            // libpython is named by its name section, and most of it is code.
            let py = tree
                .children
                .iter()
                .find(|c| c.name.ends_with("libpython3.14.so"))
                .expect("libpython is a nested module with its name");
            let code = py.children.iter().find(|c| c.name == "code").unwrap();
            assert!(code.bytes * 2 > py.bytes, "{} of {}", code.bytes, py.bytes);
            // Functions by their names.
            assert!(code.children.iter().any(|f| f.name == "PyObject_GetAttr"));
        }
    }
    // A module fused by weld.
    let Some(swc) = real_binary("swc-wasm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fused.wasm");
    let o = weld(&["fuse", swc.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    check_every_byte("fused", &std::fs::read(&out).unwrap());
    // The demo corpus.
    for set in ["compose", "chain", "diamond", "components"] {
        for f in std::fs::read_dir(demo(set)).unwrap().flatten() {
            if f.path().extension().is_some_and(|e| e == "wat") {
                let bytes = wat::parse_file(f.path()).unwrap();
                check_every_byte(&f.path().display().to_string(), &bytes);
            }
        }
    }
}

#[test]
fn json_of_a_demo_component_matches_its_snapshot() {
    let o = weld(&["size", "--json", &demo("compose/greeter.wat")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    // The file's own path is not part of the snapshot.
    let mut got = got;
    got[0]["name"] = serde_json::Value::String("greeter.wat".into());
    let snapshot = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/size-greeter.json");
    if std::env::var_os("WELD_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let want: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&snapshot).unwrap()).unwrap();
    assert_eq!(
        got, want,
        "the JSON of `weld size` changed (WELD_UPDATE_SNAPSHOTS=1 rewrites the snapshot)"
    );
}

#[test]
fn a_diff_of_two_jco_versions_sums_to_the_difference() {
    let (Some(old), Some(new)) = (
        real_binary("jco-0.14.2-wasm-tools"),
        real_binary("jco-1.0.3-wasm-tools"),
    ) else {
        return;
    };
    let o = weld(&[
        "size",
        "--diff",
        "--json",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let delta = v["delta"].as_i64().unwrap();
    assert_eq!(
        delta,
        std::fs::metadata(&new).unwrap().len() as i64 - std::fs::metadata(&old).unwrap().len() as i64
    );
    let parts = v["parts"].as_array().unwrap();
    assert!(parts.len() > 10);
    assert_eq!(
        parts.iter().map(|p| p["delta"].as_i64().unwrap()).sum::<i64>(),
        delta
    );
    // Largest change first.
    let abs: Vec<i64> = parts.iter().map(|p| p["delta"].as_i64().unwrap().abs()).collect();
    assert!(abs.windows(2).all(|w| w[0] >= w[1]));
    // The text form leads with the totals.
    let o = weld(&["size", "--diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    assert!(stdout(&o)
        .lines()
        .next()
        .unwrap()
        .ends_with(&format!("({delta:+})")));
}

#[test]
fn broken_input_is_reported_as_far_as_it_reads() {
    // A component cut inside its nested module.
    let Some(path) = real_binary("jco-1.0.3-wasm-tools") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let cut = &bytes[..bytes.len() / 2];
    let tree = check_every_byte("cut", cut);
    let unreadable: Vec<(String, u64)> = tree
        .leaves()
        .into_iter()
        .filter(|(p, _)| p.contains("unreadable"))
        .collect();
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");

    // Nested past the limit: the deep part is one marked leaf.
    let mut wat = String::from("(core module)");
    for _ in 0..80 {
        wat = format!("(component {wat})");
    }
    let deep = wat::parse_str(&wat).unwrap();
    let tree = check_every_byte("deep", &deep);
    let mut n = &tree;
    let mut levels = 0;
    while let Some(c) = n
        .children
        .iter()
        .find(|c| c.kind == "component" || c.kind == "unreadable")
    {
        levels += 1;
        n = c;
        if c.kind == "unreadable" {
            assert!(c.problem.as_deref().unwrap().contains("nested deeper than 64"));
            break;
        }
    }
    assert_eq!(levels, 65);

    // A name section with invalid UTF-8: the functions keep index names.
    let mut m = wat::parse_str(r#"(module (func) (func))"#).unwrap();
    m.extend_from_slice(&[0, 12, 4, b'n', b'a', b'm', b'e', 1, 5, 1, 0, 2, 0xff, 0xfe]);
    let tree = check_every_byte("badnames", &m);
    assert!(
        tree.leaves().iter().any(|(p, _)| p == "code/func[0]"),
        "{:?}",
        tree.leaves()
    );

    // The command line says so too, and exits 0.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cut.wasm");
    std::fs::write(&f, cut).unwrap();
    let o = weld(&["size", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(unreadable)"), "{}", stdout(&o));
}
