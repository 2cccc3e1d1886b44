//! `weld compose DOC.wac` from the command line: packages from a real OCI
//! registry (and the second run from the store), the faults of a document
//! told at their line and column with nothing written, and
//! `--print-wac`, whose document composes to the same component.

mod common;
#[path = "common/registry.rs"]
#[allow(dead_code)]
mod harness;
#[path = "common/wac_packages.rs"]
mod wac_packages;

use std::path::Path;
use std::process::{Command, Output};

use common::{demo, stderr, stdout, wit};
use harness::{wasm_tools, Registry};
use wac_packages::packages;

/// `weld` in `dir`, with a private cache and no ambient credentials.
fn weld_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weld"))
        .args(args)
        .current_dir(dir)
        .env("WELD_CACHE_DIR", dir.join("cache"))
        .env("DOCKER_CONFIG", dir.join("no-docker-config"))
        .env_remove("WELD_REGISTRY_USER")
        .env_remove("WELD_REGISTRY_PASSWORD")
        .output()
        .expect("weld runs")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "weld failed: {}{}", stdout(o), stderr(o));
    stderr(o)
}

const DIAMOND: &str = r#"package test:diamond;
let c = new demo:counter@1.0.0 {};
let d = new demo:doubler@1.0.0 { ...c };
let t = new demo:tripler@2.0.0 { ...c };
let s = new demo:sum@1.0.0 { ...d, ...t };
export s.run;
"#;

#[test]
fn packages_come_from_the_registry_then_from_the_store() {
    let Some(registry) = Registry::start(&[]) else {
        return;
    };
    let host = registry.host.as_str();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    packages(&d.join("built"));
    // Each package pushed as wkg lays them out: HOST/NS/ns/pkg:VERSION.
    for (file, repo) in [
        ("demo/counter.wasm", "demo/counter:1.0.0"),
        ("demo/doubler/1.0.0.wasm", "demo/doubler:1.0.0"),
        ("demo/tripler/2.0.0.wasm", "demo/tripler:2.0.1"),
        ("demo/sum.wasm", "demo/sum:1.0.0"),
    ] {
        let path = d.join("built").join(file);
        ok(&weld_in(
            d,
            &[
                "push",
                path.to_str().unwrap(),
                &format!("{host}/ns/{repo}"),
                "--insecure",
                host,
            ],
        ));
    }
    std::fs::write(d.join("app.wac"), DIAMOND).unwrap();
    let registry_ns = format!("{host}/ns");
    let compose = |out: &str| {
        weld_in(
            d,
            &[
                "compose",
                "app.wac",
                "--registry",
                &registry_ns,
                "--insecure",
                host,
                "-v",
                "-o",
                out,
            ],
        )
    };

    // Nothing local: every package pulled (tripler@2.0.0 by the semver
    // rule: the registry has 2.0.1).
    let first = ok(&compose("first.wasm"));
    for (package, reference) in [
        ("demo:counter@1.0.0", format!("{host}/ns/demo/counter:1.0.0")),
        ("demo:tripler@2.0.0", format!("{host}/ns/demo/tripler:2.0.1")),
    ] {
        assert!(
            first.contains(&format!("package {package} from {reference} (2 blobs fetched)")),
            "{first}"
        );
    }
    let bytes = std::fs::read(d.join("first.wasm")).unwrap();
    wasmparser::Validator::new().validate_all(&bytes).unwrap();

    // Again: everything from the store in weld's cache, nothing fetched.
    // (The registry logs every request: the first run's are there.)
    let log_before = registry.log().len();
    assert!(
        registry.log().contains("GET /v2/ns/demo/sum/manifests/1.0.0"),
        "{}",
        registry.log()
    );
    let second = ok(&compose("second.wasm"));
    assert!(!second.contains("fetched"), "{second}");
    assert_eq!(second.matches("from store ").count(), 4, "{second}");
    assert_eq!(std::fs::read(d.join("second.wasm")).unwrap(), bytes);
    let new_log = &registry.log()[log_before..];
    assert!(
        !new_log.contains("GET /v2/"),
        "the second run asked the registry: {new_log}"
    );

    // A version no tag satisfies: one line at the reference; nothing written.
    std::fs::write(
        d.join("bad.wac"),
        DIAMOND.replace("demo:sum@1.0.0", "demo:sum@3.0.0"),
    )
    .unwrap();
    let o = weld_in(
        d,
        &[
            "compose",
            "bad.wac",
            "--registry",
            &registry_ns,
            "--insecure",
            host,
            "-o",
            "bad.wasm",
        ],
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("bad.wac:5:13: package `demo:sum@3.0.0` not found")
            && e.contains("no tag satisfies 3.0.0 (tags: 1.0.0)")
            && e.contains("(at `demo:sum@3.0.0`)"),
        "{e}"
    );
    assert!(!d.join("bad.wasm").exists());
}

#[test]
fn faults_of_a_document_are_told_at_their_place_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    packages(&d.join("deps"));
    let cases: [(&str, String, &str); 5] = [
        (
            "syntax",
            "package test:x;\nlet c = new demo:counter {}\nexport c;\n".to_string(),
            "syntax.wac:3:1: expected `;`, found `export` keyword (at `export`)",
        ),
        (
            "unknown",
            "package test:x;\nlet c = new demo:nothing {};\n".to_string(),
            "unknown.wac:2:13: package `demo:nothing` not found: not deps/demo/nothing.wasm (at `demo:nothing`)",
        ),
        (
            "mismatch",
            "package test:x;\nimport seed: func() -> string;\nlet f = new demo:flat { seed };\nexport f.next;\n"
                .to_string(),
            "mismatch.wac:3:25: mismatched instantiation argument `seed`",
        ),
        (
            // `new` of what is defined only later: the cycle cannot be written.
            "cycle",
            "package test:x;\nlet d = new demo:doubler@1.0.0 { ...t };\nlet t = new demo:tripler@2.0.0 { ...d };\n"
                .to_string(),
            "cycle.wac:2:37: undefined name `t` (at `t`)",
        ),
        (
            "self",
            "package test:x;\nlet c = new test:x {};\n".to_string(),
            "self.wac:2:13: a document cannot instantiate its own package (at `test:x`)",
        ),
    ];
    for (name, doc, want) in cases {
        let file = format!("{name}.wac");
        std::fs::write(d.join(&file), doc).unwrap();
        let out = format!("{name}.wasm");
        let o = weld_in(d, &["compose", &file, "-o", &out]);
        assert!(!o.status.success(), "{name}: composed");
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{name}: {e}");
        assert!(e.starts_with(&format!("weld: error: {want}")), "{name}: {e}");
        assert!(!d.join(&out).exists(), "{name}: an output was written");
    }
}

#[test]
fn print_wac_writes_a_document_that_composes_to_the_same_component() {
    let Some(tools) = wasm_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = demo("compose/app.wat");
    let plugs = [demo("compose/greeter.wat"), demo("compose/hello.wat")];
    let mut args = vec!["compose", root.as_str()];
    for p in &plugs {
        args.extend(["--plug", p.as_str()]);
    }
    ok(&weld_in(d, &[args.as_slice(), &["-o", "flags.wasm"]].concat()));
    let printed = weld_in(d, &[args.as_slice(), &["--print-wac"]].concat());
    let doc = stdout(&printed);
    ok(&printed);
    assert!(doc.contains("package weld:composition;"), "{doc}");
    std::fs::write(d.join("printed.wac"), &doc).unwrap();

    // The header says how to compose it again: those --dep flags.
    let deps: Vec<String> = doc
        .lines()
        .filter_map(|l| l.trim_start_matches(['/', ' ']).strip_prefix("--dep "))
        .map(|l| l.trim_end_matches([' ', '\\']).to_string())
        .collect();
    assert_eq!(deps.len(), 3, "{doc}");
    let mut again = vec!["compose", "printed.wac", "-o", "doc.wasm"];
    for dep in &deps {
        again.extend(["--dep", dep.as_str()]);
    }
    ok(&weld_in(d, &again));
    assert_eq!(
        wit(&tools, &d.join("doc.wasm")),
        wit(&tools, &d.join("flags.wasm"))
    );
}

/// A plain document (lets of `new` with named arguments, exports of one
/// export) is composed while wac-parser resolves it; the same composition
/// written in a shape weld does not read ahead (a parenthesized
/// expression, a spread, an `as` rename) is composed after, to the same
/// bytes. An argument the guess cannot place is the resolver's error.
#[test]
fn a_plain_document_is_composed_while_it_resolves_to_the_same_bytes() {
    use weld_linker::{compose_document, ComposeOptions, PackageSources};
    let dir = tempfile::tempdir().unwrap();
    let deps = dir.path().join("deps");
    packages(&deps);
    let sources = PackageSources {
        deps_dir: Some(deps),
        ..Default::default()
    };
    let compose = |doc: &str| compose_document(&ComposeOptions::default(), "doc.wac", doc, &sources);
    let plain = r#"package test:chain;
let c = new demo:counter {};
let d = new demo:doubler@1.0.0 { api: c.api };
let t = new demo:tripler@2.0.0 { "demo:counter/api@1.0.0": d["demo:doubler/api@1.0.0"] };
let f = new demo:front { api: t.api };
export f.run;
export t["demo:tripler/api@1.0.0"] as "tripled";
"#;
    let read = compose(plain).unwrap();
    assert!(read.read_ahead, "the plain document was not read ahead");
    wasmparser::Validator::new()
        .validate_all(&read.composed.bytes)
        .unwrap();
    for (what, other) in [
        (
            "parenthesized",
            plain.replace("{ api: c.api }", "{ api: (c).api }"),
        ),
        ("spread", plain.replace("{ api: c.api }", "{ ...c }")),
    ] {
        let after = compose(&other).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!after.read_ahead, "{what}: read ahead");
        assert_eq!(after.composed.bytes, read.composed.bytes, "{what}: other bytes");
    }
    // An argument name matching no import: the resolver's message.
    let wrong = plain.replace("{ api: c.api }", "{ apx: c.api }");
    let e = compose(&wrong).unwrap_err().to_string();
    assert!(e.contains("apx"), "{e}");
}
