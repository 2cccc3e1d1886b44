//! `weld size`: every byte of a file in exactly one leaf of the tree, on
//! real components (jco, the componentize-py app), a real module fused by
//! weld and the demo corpus; the JSON of a demo component against its
//! snapshot; `--diff` whose changes sum to the difference of the sizes;
//! truncated and too-deeply nested input still reported, marked; the
//! code by source file from DWARF, through fuse; the HTML report opened in
//! headless chromium.

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

    // A name section with invalid UTF-8: the functions keep index names,
    // and the name section is marked.
    let mut m = wat::parse_str(r#"(module (func) (func))"#).unwrap();
    m.extend_from_slice(&[0, 12, 4, b'n', b'a', b'm', b'e', 1, 5, 1, 0, 2, 0xff, 0xfe]);
    let tree = check_every_byte("badnames", &m);
    assert!(
        tree.leaves().iter().any(|(p, _)| p == "code/func[0]"),
        "{:?}",
        tree.leaves()
    );
    let names = tree
        .children
        .iter()
        .find(|c| c.name == "custom \"name\"")
        .unwrap();
    assert!(
        names
            .problem
            .as_deref()
            .unwrap_or("")
            .contains("names unreadable: malformed UTF-8"),
        "{names:?}"
    );

    // The command line says so too, and exits 0.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cut.wasm");
    std::fs::write(&f, cut).unwrap();
    let o = weld(&["size", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(unreadable)"), "{}", stdout(&o));
}

/// A tool the HTML test drives; missing under CI is a failure.
#[path = "common/tools.rs"]
mod tools;

/// The built `corpus/build-debug` set `fuse-dwarf5`, if there.
fn dwarf5_set() -> Option<std::path::PathBuf> {
    let dir = common::cache().join("debug/fuse-dwarf5");
    if ["main.wasm", "mod_a.wasm", "mod_b.wasm"]
        .iter()
        .all(|f| dir.join(f).is_file())
    {
        return Some(dir);
    }
    tools::missing(&format!(
        "{} not built (run corpus/build-debug fuse-dwarf5)",
        dir.display()
    ));
    None
}

/// The size of a module's code section's contents (what DWARF addresses).
fn code_bytes(bytes: &[u8]) -> u64 {
    wasmparser::Parser::new(0)
        .parse_all(bytes)
        .find_map(|p| match p.unwrap() {
            wasmparser::Payload::CodeSectionStart { unchecked_range, .. } => {
                Some(unchecked_range.end - unchecked_range.start)
            }
            _ => None,
        })
        .unwrap()
}

/// Each file's bytes in a by-source tree, by file name.
fn by_file(tree: &SizeNode) -> std::collections::BTreeMap<String, u64> {
    tree.leaves()
        .into_iter()
        .map(|(p, b)| (p.rsplit('/').next().unwrap().to_string(), b))
        .collect()
}

/// The bytes of a module's functions (size, locals and code) whose names
/// `pick` takes, from its size tree.
fn function_bytes(bytes: &[u8], pick: impl Fn(&str) -> bool) -> u64 {
    size_tree("m", bytes)
        .leaves()
        .into_iter()
        .filter_map(|(p, b)| p.strip_prefix("code/").map(|n| (n.to_string(), b)))
        .filter(|(n, _)| pick(n.split('#').next().unwrap()))
        .map(|(_, b)| b)
        .sum()
}

/// Each source file's bytes lie between 90% of its own functions' bytes
/// (the functions of mod_a.c are `a_*`, of mod_b.c `b_*`, of main.c `run`
/// and `digest`) and those plus the static `clamp_i32` both modules hold.
fn files_match_their_functions(what: &str, bytes: &[u8], files: &std::collections::BTreeMap<String, u64>) {
    let clamp = function_bytes(bytes, |n| n == "clamp_i32");
    for (file, own) in [
        ("main.c", function_bytes(bytes, |n| n == "run" || n == "digest")),
        ("mod_a.c", function_bytes(bytes, |n| n.starts_with("a_"))),
        ("mod_b.c", function_bytes(bytes, |n| n.starts_with("b_"))),
    ] {
        if own == 0 {
            assert!(
                !files.contains_key(file),
                "{what}: {file} has no functions: {files:?}"
            );
            continue;
        }
        let got = files[file];
        assert!(
            got * 10 >= own * 9 && got <= own + clamp,
            "{what}: {file}: {got} bytes, its functions {own} (+{clamp})"
        );
    }
}

#[test]
fn code_by_source_file_follows_the_line_tables_through_fuse() {
    let Some(dir) = dwarf5_set() else { return };
    let mut inputs = Vec::new();
    for m in ["mod_b", "mod_a", "main"] {
        let path = dir.join(format!("{m}.wasm"));
        let bytes = std::fs::read(&path).unwrap();
        let tree = weld_linker::size_by_source(m, &bytes).expect("DWARF line tables");
        // Every byte of the code section once.
        assert_eq!(tree.bytes, code_bytes(&bytes), "{m}");
        assert_eq!(tree.leaf_bytes(), tree.bytes, "{m}");
        files_match_their_functions(m, &bytes, &by_file(&tree));
        inputs.push(format!("{m}={}", path.display()));
    }
    // Fused (every function kept, none folded; fuse writes shorter LEBs
    // than wasm-ld's padded ones, so bodies shrink): each file's code is
    // still its own functions'.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fused.wasm");
    let mut args = vec!["fuse".to_string()];
    args.extend(inputs);
    args.extend(["--keep-unused", "--icf", "none", "-o"].map(String::from));
    args.push(out.display().to_string());
    let o = weld(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let fused = std::fs::read(&out).unwrap();
    let tree = weld_linker::size_by_source("fused", &fused).expect("DWARF kept");
    assert_eq!(tree.leaf_bytes(), code_bytes(&fused));
    let files = by_file(&tree);
    assert_eq!(files.len(), 4, "{files:?}");
    files_match_their_functions("fused", &fused, &files);
    // The command line prints the same tree.
    let o = weld(&["size", "--by-source", "--depth", "9", out.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("mod_a.c"), "{}", stdout(&o));
    // Without DWARF: a warning, nothing else.
    let o = weld(&["size", "--by-source", &demo("chain/a.wat")]);
    assert!(stderr(&o).contains("no DWARF line tables"), "{}", stderr(&o));
}

/// `weld size --html OUT FILE`, then the page opened in headless chromium:
/// its DOM after the script ran, and a screenshot.
fn rendered(id: &str, dir: &std::path::Path) -> Option<(String, String, Vec<u8>)> {
    let chromium = tools::tool("chromium", "WELD_CHROMIUM", &[])?;
    let path = real_binary(id)?;
    let html = dir.join(format!("{id}.html"));
    let o = weld(&["size", path.to_str().unwrap(), "--html", html.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    let url = format!("file://{}", html.display());
    let browser = |extra: &[&str]| {
        let o = std::process::Command::new(&chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
            .arg("--window-size=1280,900")
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .args(extra)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "chromium: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    };
    let dom = String::from_utf8(browser(&["--dump-dom"]).stdout).unwrap();
    let png = dir.join(format!("{id}.png"));
    browser(&[&format!("--screenshot={}", png.display())]);
    Some((page, dom, std::fs::read(&png).unwrap()))
}

#[test]
fn the_html_report_renders_in_a_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((page, dom, png)) = rendered("cpy-app", tmp.path()) else {
        return;
    };
    // Self-contained: nothing fetched.
    for outside in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!page.contains(outside), "the page refers outside: {outside}");
    }
    assert!(page.len() < 2 << 20, "{} bytes", page.len());
    // The treemap drew the top-level modules by name, the table lists them.
    for name in ["module[0]", "module[8] libpython3.14.so", "module[3] libc.so"] {
        assert!(
            dom.contains(&format!("class=\"cell zoom\" data-name=\"{name}\"")),
            "treemap: {name}"
        );
        assert!(dom.contains(&format!("<td><a>{name}</a></td>")), "table: {name}");
    }
    assert!(dom.matches("class=\"cell").count() > 20);
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );

    // With DWARF, a second view: code by source file.
    let Some((_, dom, _)) = rendered("ruby-debug", tmp.path()) else {
        return;
    };
    assert!(dom.contains(">code by source file</button>"), "no source view");
}
