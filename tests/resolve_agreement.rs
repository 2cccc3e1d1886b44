//! `weld graph` and `weld compose` get their answer from the one resolver, so
//! over the same component sets (with `--root` import maps, wiring files,
//! semver, an ambiguous pair and a kind mismatch) they show the same edges,
//! each with the same rule, and refuse the same problems with the same words.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{demo, stderr, weld};

/// (importer, import, provider, export, rule)
type Edge = (String, String, String, String, String);

struct Answer {
    edges: BTreeSet<Edge>,
    problems: BTreeSet<String>,
    ok: bool,
}

fn s(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("no {k} in {v}"))
        .to_string()
}

/// The error lines of a failed run, without the `weld: error: ` prefix.
fn problems(o: &std::process::Output) -> BTreeSet<String> {
    stderr(o)
        .lines()
        .map(|l| l.strip_prefix("weld: error: ").unwrap_or(l).to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// `weld graph --format json` over the inputs (the root first), with `extra` flags.
fn graph(inputs: &[&str], extra: &[&str]) -> Answer {
    let mut args = vec!["graph", "--format", "json"];
    args.extend(inputs);
    args.extend(extra);
    let o = weld(&args);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("graph prints JSON");
    let edges = report["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                s(e, "from"),
                s(e, "import"),
                s(e, "to"),
                s(e, "export"),
                s(e, "rule"),
            )
        })
        .collect();
    Answer {
        edges,
        problems: problems(&o),
        ok: o.status.success(),
    }
}

/// `weld compose ROOT --plug ...` with `extra` flags, its wires from `--map`.
fn compose(dir: &Path, inputs: &[&str], extra: &[&str]) -> Answer {
    let out = dir.join("out.wasm");
    let map = dir.join("map.json");
    let _ = std::fs::remove_file(&map);
    let mut args: Vec<String> = vec!["compose".into(), inputs[0].into()];
    for p in &inputs[1..] {
        args.push("--plug".into());
        args.push(p.to_string());
    }
    args.extend(extra.iter().map(|x| x.to_string()));
    args.extend(["-o".into(), out.display().to_string()]);
    args.extend(["--map".into(), map.display().to_string()]);
    let o = weld(&args);
    if !o.status.success() {
        return Answer {
            edges: BTreeSet::new(),
            problems: problems(&o),
            ok: false,
        };
    }
    wasmparser::Validator::new()
        .validate_all(&std::fs::read(&out).unwrap())
        .expect("the composed component validates");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&map).unwrap()).unwrap();
    let edges = report["wires"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                s(w, "importer"),
                s(w, "import"),
                s(w, "provider"),
                s(w, "export"),
                s(w, "rule"),
            )
        })
        .collect();
    Answer {
        edges,
        problems: BTreeSet::new(),
        ok: true,
    }
}

/// Both commands agree: on success the same non-empty edge set, on failure
/// the same problems (graph also lists its edges then).
fn agree(dir: &Path, inputs: &[&str], extra: &[&str]) -> Answer {
    let g = graph(inputs, extra);
    let c = compose(dir, inputs, extra);
    assert_eq!(
        g.ok, c.ok,
        "graph ok={} but compose ok={}: {:?} / {:?}",
        g.ok, c.ok, g.problems, c.problems
    );
    if c.ok {
        assert!(!c.edges.is_empty(), "nothing wired");
        assert_eq!(g.edges, c.edges, "graph and compose wire differently");
    } else {
        assert!(!c.problems.is_empty());
        assert_eq!(g.problems, c.problems, "graph and compose refuse differently");
    }
    c
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A component exporting `iface` (an instance with `f: func() -> u32`
/// returning `n`), importing each of `uses` (same shape).
fn component(iface: &str, n: u32, uses: &[&str]) -> String {
    let imports: String = uses
        .iter()
        .map(|u| format!("(import \"{u}\" (instance (export \"f\" (func (result u32)))))\n"))
        .collect();
    format!(
        r#"(component
            {imports}
            (core module $m (func (export "f") (result i32) i32.const {n}))
            (core instance $i (instantiate $m))
            (func $f (result u32) (canon lift (core func $i "f")))
            (instance $api (export "f" (func $f)))
            (export "{iface}" (instance $api)))"#
    )
}

#[test]
fn plugs_feeding_each_other_and_semver() {
    let dir = tempfile::tempdir().unwrap();
    let (app, greeter, hello) = (
        demo("compose/app.wat"),
        demo("compose/greeter.wat"),
        demo("compose/hello.wat"),
    );
    let c = agree(dir.path(), &[&app, &greeter, &hello], &[]);
    let rules: BTreeSet<&str> = c.edges.iter().map(|e| e.4.as_str()).collect();
    assert!(rules.contains("semver"), "{:?}", c.edges);
    let (capp, cgreeter) = (demo("components/app.wat"), demo("components/greeter.wat"));
    agree(dir.path(), &[&capp, &cgreeter], &[]);
}

#[test]
fn root_import_maps_give_the_same_edges() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    for (from, to) in [
        ("app.wat", "app.wat"),
        ("greeter.wat", "plugs/greeter.wat"),
        ("hello.wat", "plugs/hello.wat"),
    ] {
        write(
            &root,
            to,
            &std::fs::read_to_string(demo(&format!("compose/{from}"))).unwrap(),
        );
    }
    write(
        &root,
        "weld.imports.toml",
        "[imports]\n\"demo:greet/api@1.0.0\" = \"./plugs/greeter.wat\"\n",
    );
    write(
        &root,
        "plugs/weld.imports.toml",
        "[imports]\n\"demo:hello/api@0.2.0\" = \"hello.wat\"\n",
    );
    let app = root.join("app.wat").display().to_string();
    let c = agree(tmp.path(), &[&app], &["--root", root.to_str().unwrap()]);
    assert_eq!(c.edges.len(), 2, "{:?}", c.edges);
    assert!(c.edges.iter().all(|e| e.4.starts_with("map ")), "{:?}", c.edges);
}

#[test]
fn an_ambiguous_pair_is_refused_alike_until_a_wiring_file_names_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let app = write(
        d,
        "app.wat",
        &component("demo:app/api@1.0.0", 1, &["demo:a/api@1.0.0"]),
    );
    let p = write(d, "p.wat", &component("demo:a/api@1.0.0", 2, &[]));
    let q = write(d, "q.wat", &component("demo:a/api@1.0.0", 3, &[]));
    let c = agree(d, &[&app, &p, &q], &[]);
    assert!(
        c.problems
            .iter()
            .any(|l| l.contains("ambiguous: both `p` and `q`")),
        "{:?}",
        c.problems
    );
    let wiring = write(d, "w.toml", "[app]\n\"demo:a/api@1.0.0\" = \"q\"\n");
    let c = agree(d, &[&app, &p, &q], &["--wiring", &wiring]);
    assert_eq!(
        c.edges.iter().next().unwrap(),
        &(
            "app".to_string(),
            "demo:a/api@1.0.0".to_string(),
            "q".to_string(),
            "demo:a/api@1.0.0".to_string(),
            "wiring".to_string()
        )
    );
    // Identical bytes under two names are interchangeable, not ambiguous.
    let q2 = write(d, "q2.wat", &component("demo:a/api@1.0.0", 3, &[]));
    agree(d, &[&app, &q, &q2], &[]);
    // A wiring entry naming nothing is the same refusal for both.
    let bad = write(d, "bad.toml", "[app]\n\"demo:a/api@1.0.0\" = \"nobody\"\n");
    let c = agree(d, &[&app, &p], &["--wiring", &bad]);
    assert!(
        c.problems
            .iter()
            .any(|l| l.contains("wiring: no input is named `nobody`")),
        "{:?}",
        c.problems
    );
}

#[test]
fn a_provider_of_the_wrong_kind_is_refused_alike() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let app = write(
        d,
        "app.wat",
        r#"(component
            (import "demo:x/y@1.0.0" (func $f (result u32)))
            (export "run" (func $f)))"#,
    );
    let lib = write(d, "lib.wat", &component("demo:x/y@1.0.0", 1, &[]));
    let c = agree(d, &[&app, &lib], &[]);
    assert!(
        c.problems
            .iter()
            .any(|l| l.contains("expected func, but `lib` exports `demo:x/y@1.0.0` as instance")),
        "{:?}",
        c.problems
    );
}
