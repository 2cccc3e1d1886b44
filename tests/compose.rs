//! `weld compose` over generated components: chains, diamonds, plugs that
//! feed each other, semver, dedupe by content, and every refusal.

mod common;

use common::{demo, stderr, weld};
use weld_format::Inputs;
use weld_linker::WireSpec;
use weld_linker::{
    compose, ArgumentSource, BadExportReason, ComposeError, ComposeOptions, Composed, Error,
    ExportLookupError, ExportReport, ExportSpec, ResolveOptions, Rule,
};

/// A component exporting `iface` with `f: func(x: u32) -> u32` = x + `add`,
/// calling each of `uses` (interfaces with a `f` of the same type) on the way.
fn component(exports: &str, add: i32, uses: &[&str]) -> String {
    let mut imports = String::new();
    let mut lowers = String::new();
    let mut core_imports = String::new();
    let mut calls = String::new();
    let mut host = String::new();
    for (k, u) in uses.iter().enumerate() {
        imports.push_str(&format!(
            "(import \"{u}\" (instance $u{k} (export \"f\" (func (param \"x\" u32) (result u32)))))\n\
             (alias export $u{k} \"f\" (func $uf{k}))\n"
        ));
        lowers.push_str(&format!("(core func $ul{k} (canon lower (func $uf{k})))\n"));
        core_imports.push_str(&format!(
            "(import \"h\" \"u{k}\" (func $c{k} (param i32) (result i32)))\n"
        ));
        calls.push_str(&format!("call $c{k}\n"));
        host.push_str(&format!("(export \"u{k}\" (func $ul{k}))"));
    }
    format!(
        r#"(component
            {imports}
            {lowers}
            (core module $m
              {core_imports}
              (func (export "f") (param i32) (result i32)
                local.get 0
                {calls}
                i32.const {add} i32.add))
            (core instance $h {host})
            (core instance $i (instantiate $m (with "h" (instance $h))))
            (func $f (param "x" u32) (result u32) (canon lift (core func $i "f")))
            (instance $api (export "f" (func $f)))
            (export "{exports}" (instance $api)))"#
    )
}

fn run(items: &[(&str, String)], opts: &ComposeOptions) -> Result<Composed, Error> {
    let inputs =
        Inputs::from_memory(items.iter().map(|(n, w)| (n.to_string(), w.as_bytes().to_vec()))).unwrap();
    compose(opts, &inputs)
}

fn ok(items: &[(&str, String)]) -> Composed {
    let out = run(items, &ComposeOptions::default()).unwrap();
    wasmparser::Validator::new().validate_all(&out.bytes).unwrap();
    out
}

fn err(items: &[(&str, String)], opts: &ComposeOptions) -> String {
    run(items, opts).unwrap_err().to_string()
}

/// (nested component sections, instantiations) at the top level.
fn shape(bytes: &[u8]) -> (usize, usize) {
    let (mut components, mut instances) = (0, 0);
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            wasmparser::Payload::ComponentSection { .. } => components += 1,
            wasmparser::Payload::ComponentInstanceSection(r) => {
                for i in r {
                    if let wasmparser::ComponentInstance::Instantiate { .. } = i.unwrap() {
                        instances += 1;
                    }
                }
            }
            _ => {}
        }
    }
    // Nested children have no components or instances of their own here.
    (components, instances)
}

#[test]
fn chain_is_wired_in_order_with_the_rule_that_matched() {
    let out = ok(&[
        ("app", component("demo:app/api@1.0.0", 1, &["demo:mid/api@1.0.0"])),
        (
            "mid",
            component("demo:mid/api@1.0.0", 10, &["demo:leaf/api@0.2.0"]),
        ),
        ("leaf", component("demo:leaf/api@0.2.3", 100, &[])),
    ]);
    assert_eq!(out.order, ["leaf", "mid", "app"]);
    let rules: Vec<(&str, &str, &str)> = out
        .wires
        .iter()
        .map(|w| (w.importer.as_str(), w.provider.as_str(), w.rule.as_str()))
        .collect();
    assert_eq!(rules, [("mid", "leaf", "semver"), ("app", "mid", "exact")]);
    assert!(out.imports.is_empty());
    // The semver-matched argument still uses the child's own import name.
    let text = wasmprinter::print_bytes(&out.bytes).unwrap();
    assert!(text.contains(r#"(with "demo:leaf/api@0.2.0""#), "{text}");
    assert_eq!(shape(&out.bytes), (3, 3));
}

#[test]
fn diamond_shares_one_instance_of_the_common_dependency() {
    let out = ok(&[
        (
            "top",
            component(
                "demo:top/api@1.0.0",
                1,
                &["demo:left/api@1.0.0", "demo:right/api@1.0.0"],
            ),
        ),
        (
            "left",
            component("demo:left/api@1.0.0", 2, &["demo:base/api@1.0.0"]),
        ),
        (
            "right",
            component("demo:right/api@1.0.0", 3, &["demo:base/api@1.0.0"]),
        ),
        ("base", component("demo:base/api@1.0.0", 4, &[])),
    ]);
    assert_eq!(out.order, ["base", "left", "right", "top"]);
    assert_eq!(shape(&out.bytes), (4, 4));
}

#[test]
fn identical_components_under_two_names_are_embedded_once_and_instantiated_twice() {
    let log = component("demo:log/api@1.0.0", 5, &[]);
    let root = component("demo:root/api@1.0.0", 0, &["log-a", "log-b"]);
    // Plain names (`log-a`) match nothing by name: the wiring file says
    // which export of which input each takes.
    let wire = |import: &str, provider: &str| WireSpec {
        importer: "root".into(),
        import: import.into(),
        provider: provider.into(),
        export: Some("demo:log/api@1.0.0".into()),
    };
    let wiring = vec![wire("log-a", "log1"), wire("log-b", "log2")];
    let opts = ComposeOptions {
        resolve: ResolveOptions {
            wiring,
            ..Default::default()
        },
        ..Default::default()
    };
    let items = [
        ("root", root.clone()),
        ("log1", log.clone()),
        ("log2", log.clone()),
    ];
    let out = run(&items, &opts).unwrap();
    wasmparser::Validator::new().validate_all(&out.bytes).unwrap();
    assert_eq!(out.embedded, 2);
    assert_eq!(
        shape(&out.bytes),
        (2, 3),
        "two components embedded, three instances"
    );
    let log_bytes = wat::parse_str(&log).unwrap();
    let copies = out
        .bytes
        .windows(log_bytes.len())
        .filter(|w| *w == &log_bytes[..])
        .count();
    assert_eq!(copies, 1, "the log component's bytes must appear once");
}

#[test]
fn plugs_satisfy_each_other_and_unused_plugs_are_reported() {
    let out = ok(&[
        ("app", component("demo:app/api@1.0.0", 1, &["demo:a/api@1.0.0"])),
        ("a", component("demo:a/api@1.0.0", 2, &["demo:b/api@1.0.0"])),
        ("b", component("demo:b/api@1.0.0", 3, &[])),
        ("spare", component("demo:spare/api@1.0.0", 4, &[])),
    ]);
    assert_eq!(out.order, ["b", "a", "app"]);
    assert_eq!(out.warnings.len(), 1);
    assert!(out.warnings[0].contains("spare"), "{:?}", out.warnings);
}

#[test]
fn unwired_imports_stay_imports_of_the_result_once() {
    let out = ok(&[
        (
            "app",
            component("demo:app/api@1.0.0", 1, &["demo:a/api@1.0.0", "host:env/x@1.0.0"]),
        ),
        ("a", component("demo:a/api@1.0.0", 2, &["host:env/x@1.2.0"])),
    ]);
    // One import, named by the highest version on the track.
    assert_eq!(out.imports, ["host:env/x@1.2.0"]);
}

/// A component exporting `iface` whose `f` takes and returns u64, where the
/// components of [`component`] use u32.
fn u64_component(iface: &str) -> String {
    format!(
        r#"(component
        (core module $m (func (export "f") (param i64) (result i64) local.get 0))
        (core instance $i (instantiate $m))
        (func $f (param "x" u64) (result u64) (canon lift (core func $i "f")))
        (instance $api (export "f" (func $f)))
        (export "{iface}" (instance $api)))"#
    )
}

#[test]
fn type_mismatch_names_both_sides_and_writes_nothing() {
    // leaf's f takes and returns u64: not what mid imports.
    let leaf = u64_component("demo:leaf/api@0.2.3");
    let e = err(
        &[
            (
                "mid",
                component("demo:mid/api@1.0.0", 10, &["demo:leaf/api@0.2.0"]),
            ),
            ("leaf", leaf),
        ],
        &ComposeOptions::default(),
    );
    assert!(
        e.starts_with("mid: import `demo:leaf/api@0.2.0` <- `leaf` export `demo:leaf/api@0.2.3` [semver]"),
        "{e}"
    );
    assert!(e.contains("u32") && e.contains("u64"), "{e}");
}

#[test]
fn the_wire_that_does_not_fit_is_named_not_the_first_one() {
    // mid imports two interfaces; the first fits, the second (from `bad`)
    // takes u64. The culprit is found by re-running the instantiation check
    // per import, never by reading the validator's message.
    let bad = u64_component("demo:b/api@1.0.0");
    let e = err(
        &[
            (
                "mid",
                component(
                    "demo:mid/api@1.0.0",
                    10,
                    &["demo:a/api@1.0.0", "demo:b/api@1.0.0"],
                ),
            ),
            ("good", component("demo:a/api@1.0.0", 1, &[])),
            ("bad", bad),
        ],
        &ComposeOptions::default(),
    );
    assert!(
        e.starts_with("mid: import `demo:b/api@1.0.0` <- `bad` export `demo:b/api@1.0.0` [exact]"),
        "{e}"
    );
    assert!(e.contains("u32") && e.contains("u64"), "{e}");
}

#[test]
fn kind_mismatch_is_refused_before_encoding() {
    let app = r#"(component
        (import "demo:x/y@1.0.0" (func (param "x" u32) (result u32))))"#;
    let e = err(
        &[
            ("app", app.to_string()),
            ("lib", component("demo:x/y@1.0.0", 1, &[])),
        ],
        &ComposeOptions::default(),
    );
    assert_eq!(
        e,
        "app: import `demo:x/y@1.0.0`: expected func, but `lib` exports `demo:x/y@1.0.0` as instance"
    );
}

#[test]
fn cycles_name_every_edge() {
    let e = err(
        &[
            ("app", component("demo:app/api@1.0.0", 1, &["demo:a/api@1.0.0"])),
            ("a", component("demo:a/api@1.0.0", 2, &["demo:b/api@1.0.0"])),
            ("b", component("demo:b/api@1.0.0", 3, &["demo:a/api@1.0.0"])),
        ],
        &ComposeOptions::default(),
    );
    assert!(
        e.contains("a imports demo:b/api@1.0.0 -> b imports demo:a/api@1.0.0"),
        "{e}"
    );
}

#[test]
fn two_different_providers_of_one_name_are_ambiguous_until_wired() {
    let items = [
        ("app", component("demo:app/api@1.0.0", 1, &["demo:a/api@1.0.0"])),
        ("p", component("demo:a/api@1.0.0", 2, &[])),
        ("q", component("demo:a/api@1.0.0", 3, &[])),
    ];
    let e = err(&items, &ComposeOptions::default());
    assert!(
        e.contains("ambiguous: both `p` and `q` export `demo:a/api@1.0.0`"),
        "{e}"
    );
    let opts = ComposeOptions {
        resolve: ResolveOptions {
            wiring: vec![WireSpec {
                importer: "app".into(),
                import: "demo:a/api@1.0.0".into(),
                provider: "q".into(),
                export: None,
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    let out = run(&items, &opts).unwrap();
    assert_eq!(out.order, ["q", "app"]);
    assert_eq!(out.wires[0].rule, "wiring");
}

#[test]
fn wiring_and_export_mistakes_are_named() {
    let items = [
        ("app", component("demo:app/api@1.0.0", 1, &["demo:a/api@1.0.0"])),
        ("p", component("demo:a/api@1.0.0", 2, &[])),
    ];
    let opts = ComposeOptions {
        resolve: ResolveOptions {
            wiring: vec![WireSpec {
                importer: "app".into(),
                import: "demo:nope/api@1.0.0".into(),
                provider: "p".into(),
                export: None,
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        err(&items, &opts),
        "app: import `demo:nope/api@1.0.0`: wiring: the input has no such import"
    );
    let opts = ComposeOptions {
        exports: vec![ExportSpec::new("p", "missing")],
        ..Default::default()
    };
    assert_eq!(
        err(&items, &opts),
        "--export p/missing: `p` has no export `missing`"
    );
    // A good extra export works, and a clash with the root's is refused.
    let opts = ComposeOptions {
        exports: vec![ExportSpec::new("p", "demo:a/api@1.0.0")],
        ..Default::default()
    };
    let out = run(&items, &opts).unwrap();
    wasmparser::Validator::new().validate_all(&out.bytes).unwrap();
    let same = [
        ("app", component("demo:a/api@1.0.0", 1, &["demo:b/api@1.0.0"])),
        ("p", component("demo:b/api@1.0.0", 2, &[])),
        ("r", component("demo:a/api@1.0.0", 2, &[])),
    ];
    let opts = ComposeOptions {
        exports: vec![ExportSpec::new("r", "demo:a/api@1.0.0")],
        ..Default::default()
    };
    assert!(err(&same, &opts).contains("already exports"));
}

#[test]
fn core_modules_and_invalid_components_are_refused() {
    let e = err(&[("m", "(module)".to_string())], &ComposeOptions::default());
    assert!(e.contains("is a core module"), "{e}");
    // Structurally fine, but exports a func lifted with a mismatched core type.
    let bad = r#"(component
        (core module $m (func (export "f") (param i64)))
        (core instance $i (instantiate $m))
        (func $f (param "x" u32) (canon lift (core func $i "f")))
        (export "f" (func $f)))"#;
    let e = err(&[("bad", bad.to_string())], &ComposeOptions::default());
    assert!(e.starts_with("bad: invalid component:"), "{e}");
}

#[test]
fn cli_composes_the_demo_and_a_failure_keeps_the_old_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let o = weld(&[
        "compose",
        &demo("compose/app.wat"),
        "--plug",
        &demo("compose/greeter.wat"),
        "--plug",
        &demo("compose/hello.wat"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = std::fs::read(&out).unwrap();
    wasmparser::Validator::new().validate_all(&first).unwrap();
    // Without the hello plug the greeter's import stays open: fine. With a
    // wiring file that names a missing input: an error, and the old output stays.
    let wiring = dir.path().join("w.toml");
    std::fs::write(&wiring, "[app]\n\"demo:greet/api@1.0.0\" = \"nobody\"\n").unwrap();
    let o = weld(&[
        "compose",
        &demo("compose/app.wat"),
        "--plug",
        &demo("compose/greeter.wat"),
        "--wiring",
        wiring.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("wiring: no input is named `nobody`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&out).unwrap(), first);
}

#[test]
fn real_components_compose_alone_with_every_wasi_import_restated() {
    // A real component composed with no plugs: each of its imports (WASI
    // interfaces with resources, records, variants, named types) becomes an
    // import of the result, declared afresh from the validator's types.
    let names = [
        "jco-1.0.3-js-component-bindgen",
        "jco-1.0.3-wasm-tools",
        "jco-0.14.2-js-component-bindgen",
        "jco-0.14.2-wasm-tools",
    ];
    for name in names {
        let Some(path) = common::real_binary(name) else {
            continue;
        };
        let inputs = Inputs::load(&[weld_format::InputSpec::parse(path.to_str().unwrap()).unwrap()]).unwrap();
        let out = compose(&ComposeOptions::default(), &inputs).unwrap();
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&out.bytes)
            .unwrap();
        let original = weld_linker::stages::probe(&[inputs.iter().next().unwrap().bytes()]).unwrap();
        let composed = weld_linker::stages::probe(&[&out.bytes]).unwrap();
        let names_of = |p: &weld_linker::stages::Probe| {
            let t = &p.types[p.components[0]];
            (
                t.imports.keys().cloned().collect::<Vec<_>>(),
                t.exports.keys().cloned().collect::<Vec<_>>(),
            )
        };
        assert_eq!(names_of(&composed), names_of(&original), "{name}");
        assert!(!out.imports.is_empty(), "{name}");
    }
}

#[test]
fn root_import_maps_find_plugs_inside_the_root_only() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let copy = |from: &str, to: &std::path::Path| {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(demo(&format!("compose/{from}")), to).unwrap();
    };
    copy("app.wat", &root.join("app.wat"));
    copy("greeter.wat", &root.join("plugs/greeter.wat"));
    copy("hello.wat", &root.join("plugs/hello.wat"));
    std::fs::write(
        root.join("weld.imports.toml"),
        "[imports]\n\"demo:greet/api@1.0.0\" = \"./plugs/greeter.wat\"\n",
    )
    .unwrap();
    // The greeter's own map, next to it.
    std::fs::write(
        root.join("plugs/weld.imports.toml"),
        "[imports]\n\"demo:hello/api@0.2.0\" = \"hello.wat\"\n",
    )
    .unwrap();
    let out = tmp.path().join("out.wasm");
    let map = tmp.path().join("map.json");
    let run = |out: &std::path::Path| {
        weld(&[
            "compose".as_ref(),
            root.join("app.wat").as_os_str(),
            "--root".as_ref(),
            root.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--map".as_ref(),
            map.as_os_str(),
        ])
    };
    let o = run(&out);
    assert!(o.status.success(), "{}", stderr(&o));
    wasmparser::Validator::new()
        .validate_all(&std::fs::read(&out).unwrap())
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&map).unwrap()).unwrap();
    assert_eq!(report["order"].as_array().unwrap().len(), 3, "{report}");
    assert!(report["imports"].as_array().unwrap().is_empty(), "{report}");
    let rules: Vec<&str> = report["wires"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["rule"].as_str().unwrap())
        .collect();
    assert!(rules.iter().all(|r| r.starts_with("map ")), "{rules:?}");
    // A map may not grant a file outside its own directory.
    std::fs::write(
        root.join("plugs/weld.imports.toml"),
        "[imports]\n\"demo:hello/api@0.2.0\" = \"../../hello.wat\"\n",
    )
    .unwrap();
    let o = run(&tmp.path().join("out2.wasm"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("demo:hello/api@0.2.0"), "{}", stderr(&o));
}

// --- The semver rule for exports (DESIGN §4): `--export`, wiring `export =`,
// maps. Exact first, else the highest version on the same track; the type
// check follows.

/// `--export p/<wanted>` against a plug exporting `have`: the export the
/// result got, or the error.
fn extra_export(have: &str, wanted: &str) -> Result<(String, Vec<String>), String> {
    let items = [
        ("app", component("demo:app/api@1.0.0", 1, &[])),
        ("p", component(have, 2, &[])),
    ];
    let opts = ComposeOptions {
        exports: vec![ExportSpec::new("p", wanted)],
        ..Default::default()
    };
    let out = run(&items, &opts).map_err(|e| e.to_string())?;
    wasmparser::Validator::new().validate_all(&out.bytes).unwrap();
    let ours = top_exports(&out.bytes);
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0], "demo:app/api@1.0.0");
    Ok((ours[1].clone(), out.notes))
}

/// The export names of the outermost component (not of nested ones).
fn top_exports(bytes: &[u8]) -> Vec<String> {
    let (mut depth, mut names) = (0usize, Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload.unwrap() {
            wasmparser::Payload::ModuleSection { .. } | wasmparser::Payload::ComponentSection { .. } => {
                depth += 1
            }
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentExportSection(r) if depth == 0 => {
                names.extend(r.into_iter().map(|e| e.unwrap().name.name.to_string()))
            }
            _ => {}
        }
    }
    names
}

#[test]
fn extra_exports_follow_the_semver_rule_on_every_track() {
    // Exact: no note.
    let (name, notes) = extra_export("demo:a/api@1.2.3", "demo:a/api@1.2.3").unwrap();
    assert_eq!(name, "demo:a/api@1.2.3");
    assert!(notes.is_empty(), "{notes:?}");
    // Patch and minor on the major track @1, in both directions; the result
    // keeps the provider's name and the note says what was taken.
    for wanted in ["demo:a/api@1.2.9", "demo:a/api@1.5.0", "demo:a/api@1.0.0"] {
        let (name, notes) = extra_export("demo:a/api@1.2.3", wanted).unwrap();
        assert_eq!(name, "demo:a/api@1.2.3", "{wanted}");
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("took `demo:a/api@1.2.3` by the semver rule"),
            "{notes:?}"
        );
    }
    // 0.Y shares the track @0.Y only.
    assert_eq!(
        extra_export("demo:a/api@0.2.3", "demo:a/api@0.2.5").unwrap().0,
        "demo:a/api@0.2.3"
    );
    let e = extra_export("demo:a/api@0.2.3", "demo:a/api@0.3.0").unwrap_err();
    assert_eq!(
        e,
        "--export p/demo:a/api@0.3.0: `p` has no export `demo:a/api@0.3.0` (it exports `demo:a/api@0.2.3`, on another semver track)"
    );
    // Another major track, 0.0.Z and pre-releases: exact only.
    assert!(extra_export("demo:a/api@1.2.3", "demo:a/api@2.0.0").is_err());
    assert!(extra_export("demo:a/api@0.0.1", "demo:a/api@0.0.2").is_err());
    assert!(extra_export("demo:a/api@1.0.0-rc1", "demo:a/api@1.0.0").is_err());
    assert!(extra_export("demo:a/api@1.0.0", "demo:a/api@1.1.0-rc1").is_err());
    assert_eq!(
        extra_export("demo:a/api@1.0.0-rc1", "demo:a/api@1.0.0-rc1")
            .unwrap()
            .0,
        "demo:a/api@1.0.0-rc1"
    );
    // Build metadata is ignored: `+b2` asks for the same version.
    assert_eq!(
        extra_export("demo:a/api@1.0.0+b1", "demo:a/api@1.0.0+b2")
            .unwrap()
            .0,
        "demo:a/api@1.0.0+b1"
    );
    // A rename gives the result the name asked for.
    let items = [
        ("app", component("demo:app/api@1.0.0", 1, &[])),
        ("p", component("demo:a/api@1.2.3", 2, &[])),
    ];
    let opts = ComposeOptions {
        exports: vec![ExportSpec {
            input: "p".into(),
            name: "demo:a/api@1.4.0".into(),
            rename: Some("demo:a/api@1.4.0".into()),
        }],
        ..Default::default()
    };
    let out = run(&items, &opts).unwrap();
    assert_eq!(
        top_exports(&out.bytes),
        ["demo:app/api@1.0.0", "demo:a/api@1.4.0"]
    );
    let opts = ComposeOptions {
        exports: vec![ExportSpec {
            input: "p".into(),
            name: "demo:a/api@1.4.0".into(),
            rename: Some("Not A Name".into()),
        }],
        ..Default::default()
    };
    assert!(err(&items, &opts).contains("`Not A Name` is not a valid export name"));
}

fn wired_to(export: &str, provider: String) -> Result<Composed, Error> {
    let items = [
        ("app", component("demo:app/api@1.0.0", 1, &["demo:a/api@1.0.0"])),
        ("p", provider),
    ];
    let opts = ComposeOptions {
        resolve: ResolveOptions {
            wiring: vec![WireSpec {
                importer: "app".into(),
                import: "demo:a/api@1.0.0".into(),
                provider: "p".into(),
                export: Some(export.into()),
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    run(&items, &opts)
}

#[test]
fn wiring_export_names_follow_the_semver_rule_then_the_type_check() {
    let out = wired_to("demo:b/api@1.4.0", component("demo:b/api@1.2.3", 2, &[])).unwrap();
    wasmparser::Validator::new().validate_all(&out.bytes).unwrap();
    assert_eq!(out.wires[0].export, "demo:b/api@1.2.3");
    assert_eq!(out.wires[0].rule, "wiring, semver");
    let e = wired_to("demo:b/api@2.0.0", component("demo:b/api@1.2.3", 2, &[]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "app: import `demo:a/api@1.0.0`: wiring: `p` has no export `demo:b/api@2.0.0`"
    );
    // A semver match is still type-checked: f takes u64 there.
    let e = wired_to("demo:b/api@1.4.0", u64_component("demo:b/api@1.2.3"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("app: import `demo:a/api@1.0.0` <- `p` export `demo:b/api@1.2.3` [wiring, semver]"),
        "{e}"
    );
    assert!(e.contains("u32") && e.contains("u64"), "{e}");
}

#[test]
fn cli_export_takes_a_semver_compatible_export_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wasm");
    let app = demo("components/app.wat");
    let greeter = format!("g={}", demo("components/greeter.wat"));
    let compose = |export: &str| {
        weld(&[
            "compose".as_ref(),
            app.as_ref(),
            "--plug".as_ref(),
            greeter.as_ref(),
            "--export".as_ref(),
            export.as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
    };
    let o = compose("g/demo:greet/api@0.2.5");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim(),
        "weld: note: --export g/demo:greet/api@0.2.5: took `demo:greet/api@0.2.3` by the semver rule; the result exports it as `demo:greet/api@0.2.3`"
    );
    assert_eq!(
        top_exports(&std::fs::read(&out).unwrap()),
        ["run", "demo:greet/api@0.2.3"]
    );
    let o = compose("g/demo:greet/api@0.2.5=demo:greet/api@0.2.5");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        top_exports(&std::fs::read(&out).unwrap()),
        ["run", "demo:greet/api@0.2.5"]
    );
    // Another track is refused, and the previous output stays.
    let before = std::fs::read(&out).unwrap();
    let o = compose("g/demo:greet/api@0.3.0");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim(),
        "weld: error: --export g/demo:greet/api@0.3.0: `g` has no export `demo:greet/api@0.3.0` (it exports `demo:greet/api@0.2.3`, on another semver track)"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[test]
fn map_keys_and_graph_follow_the_semver_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::copy(demo("compose/app.wat"), root.join("app.wat")).unwrap();
    std::fs::create_dir_all(root.join("plugs")).unwrap();
    std::fs::copy(demo("compose/greeter.wat"), root.join("plugs/greeter.wat")).unwrap();
    std::fs::copy(demo("compose/hello.wat"), root.join("plugs/hello.wat")).unwrap();
    std::fs::write(
        root.join("plugs/weld.imports.toml"),
        "[imports]\n\"demo:hello/api@0.2.0\" = \"hello.wat\"\n",
    )
    .unwrap();
    // app imports demo:greet/api@1.0.0; the key is 1.3.0 (same track @1).
    let graph = |key: &str| {
        std::fs::write(
            root.join("weld.imports.toml"),
            format!("[imports]\n\"{key}\" = \"./plugs/greeter.wat\"\n"),
        )
        .unwrap();
        let o = weld(&[
            "graph".as_ref(),
            root.join("app.wat").as_os_str(),
            "--root".as_ref(),
            root.as_os_str(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let text = graph("demo:greet/api@1.3.0");
    assert!(
        text.contains("app imports demo:greet/api@1.0.0 -> plugs/greeter.wat exports demo:greet/api@1.0.0 [map weld.imports.toml [demo:greet/api@1.3.0] -> plugs/greeter.wat, semver]"),
        "{text}"
    );
    // greeter imports hello@0.2.0 and hello.wat exports 0.2.3: the export is
    // taken by semver, and graph says so.
    assert!(text.contains("exports demo:hello/api@0.2.3 [map plugs/weld.imports.toml [demo:hello/api@0.2.0] -> plugs/hello.wat, semver]"), "{text}");
    // A key on another track is not this import's.
    let text = graph("demo:greet/api@2.0.0");
    assert!(
        text.contains("unresolved") && text.contains("demo:greet/api@1.0.0"),
        "{text}"
    );
    assert!(!text.contains("greeter"), "{text}");
}

#[test]
fn an_extra_export_found_by_semver_says_what_it_matched() {
    let items = [
        ("app", component("demo:app/api@1.0.0", 1, &[])),
        ("p", component("demo:a/api@0.2.3", 2, &[])),
    ];
    let opts = ComposeOptions {
        exports: vec![
            ExportSpec::new("p", "demo:a/api@0.2.5"),
            ExportSpec {
                input: "app".into(),
                name: "demo:app/api@1.0.0".into(),
                rename: Some("again".into()),
            },
        ],
        ..Default::default()
    };
    let out = run(&items, &opts).unwrap();
    assert_eq!(
        out.exports,
        [
            ExportReport {
                input: "p".into(),
                wanted: "demo:a/api@0.2.5".into(),
                found: "demo:a/api@0.2.3".into(),
                rule: Rule::Semver,
                as_name: "demo:a/api@0.2.3".into(),
            },
            ExportReport {
                input: "app".into(),
                wanted: "demo:app/api@1.0.0".into(),
                found: "demo:app/api@1.0.0".into(),
                rule: Rule::Exact,
                as_name: "again".into(),
            },
        ]
    );
    // Only the semver match is worth a note.
    assert_eq!(
        out.notes,
        ["--export p/demo:a/api@0.2.5: took `demo:a/api@0.2.3` by the semver rule; the result exports it as `demo:a/api@0.2.3`"]
    );
    // A lookup that fails is the resolver's typed answer, kept as the source.
    let opts = ComposeOptions {
        exports: vec![ExportSpec::new("p", "demo:a/api@0.3.0")],
        ..Default::default()
    };
    let e = run(&items, &opts).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Compose(ComposeError::BadExport {
                reason: BadExportReason::Lookup(ExportLookupError::OtherTrack { exported, .. }),
                ..
            }) if exported == "demo:a/api@0.2.3"
        ),
        "{e}"
    );
}

#[test]
fn a_type_mismatch_is_one_line_and_keeps_the_validators_error_as_its_source() {
    use std::error::Error as _;
    let e = run(
        &[
            (
                "mid",
                component("demo:mid/api@1.0.0", 10, &["demo:leaf/api@0.2.0"]),
            ),
            ("leaf", u64_component("demo:leaf/api@0.2.3")),
        ],
        &ComposeOptions::default(),
    )
    .unwrap_err();
    let Error::Compose(ComposeError::TypeMismatch {
        importer,
        import,
        from,
        ..
    }) = &e
    else {
        panic!("not a type mismatch: {e}")
    };
    assert_eq!(
        (importer.as_str(), import.as_deref()),
        ("mid", Some("demo:leaf/api@0.2.0"))
    );
    assert_eq!(
        **from,
        ArgumentSource::Wire {
            provider: "leaf".into(),
            export: "demo:leaf/api@0.2.3".into(),
            rule: Rule::Semver
        }
    );
    let text = e.to_string();
    assert!(!text.contains('\n'), "{text}");
    let source = e
        .source()
        .and_then(|s| s.downcast_ref::<wasmparser::BinaryReaderError>())
        .expect("the validator's error is the source");
    assert!(text.ends_with(&weld_format::one_line(source.message())), "{text}");
}

#[test]
fn the_map_is_the_json_the_cli_always_wrote() {
    let out = ok(&[
        ("app", component("demo:app/api@1.0.0", 1, &["demo:a/api@1.0.0"])),
        ("a", component("demo:a/api@1.0.0", 2, &["host:env/x@1.0.0"])),
    ]);
    // What `weld compose --map` wrote before the map moved into the library:
    // a JSON object (keys sorted), pretty-printed.
    let before = serde_json::to_string_pretty(&serde_json::json!({
        "order": out.order,
        "embedded": out.embedded,
        "wires": out.wires,
        "imports": out.imports,
        "hoisted": out.hoisted,
    }))
    .unwrap();
    assert_eq!(out.map().to_json(), before);
    assert!(before.contains("\"rule\": \"exact\""), "{before}");
}
