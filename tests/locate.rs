//! `--root` resolution end to end: paths and nested import maps resolve
//! inside the root; every refused form is an error naming the importer and
//! the name; host namespaces never touch the disk; random names never
//! resolve outside the root.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use proptest::prelude::*;
use weld_linker::stages::resolve_path;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// root/ app.wat, weld.imports.toml (util), util/u.wasm, lib/math.wasm,
/// lib/weld.imports.toml (helper), lib/helpers/h.wat; and outside/secret.wasm.
fn tree() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    write(
        &root.join("app.wat"),
        r#"(module
            (import "./lib/math.wasm" "add3" (func $add3 (param i32) (result i32)))
            (import "util" "twice" (func $twice (param i32) (result i32)))
            (import "env" "log" (func $log (param i32)))
            (func (export "main") (param i32) (result i32)
              local.get 0 call $add3 call $twice))"#,
    );
    write(
        &root.join("weld.imports.toml"),
        "[imports]\nutil = \"./util/u.wasm\"\nenv = \"./util/u.wasm\"\n",
    );
    write(
        &root.join("util/u.wasm"),
        r#"(module (func (export "twice") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))"#,
    );
    write(
        &root.join("lib/math.wasm"),
        r#"(module
            (import "helper" "inc" (func $inc (param i32) (result i32)))
            (func (export "add3") (param i32) (result i32) local.get 0 call $inc call $inc call $inc))"#,
    );
    write(
        &root.join("lib/weld.imports.toml"),
        "[imports]\nhelper = \"helpers/h\"\n",
    );
    write(
        &root.join("lib/helpers/h.wat"),
        r#"(module (func (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add))"#,
    );
    write(
        &tmp.path().join("outside/secret.wasm"),
        "(module (func (export \"f\")))",
    );
    (tmp, root)
}

#[test]
fn paths_and_nested_maps_resolve_inside_the_root() {
    let (_tmp, root) = tree();
    let app = root.join("app.wat");
    let o = weld(&[
        "graph".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        app.as_os_str(),
    ]);
    let text = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        text.contains("app imports ./lib/math.wasm.add3 -> lib/math.wasm exports add3 [path lib/math.wasm]"),
        "{text}"
    );
    assert!(text.contains("app imports util.twice -> util/u.wasm exports twice [map weld.imports.toml [util] -> util/u.wasm]"), "{text}");
    assert!(
        text.contains("lib/math.wasm imports helper.inc -> lib/helpers/h.wat exports inc [map lib/weld.imports.toml [helper] -> lib/helpers/h.wat]"),
        "{text}"
    );
    // `env` is a host namespace: never looked up, even though a map names it.
    assert!(text.contains("app imports env: 1 import"), "{text}");
    assert!(
        text.contains("order: util/u.wasm, lib/helpers/h.wat, lib/math.wasm, app"),
        "{text}"
    );

    // Fused, only the host import is left, and it computes (x+3)*2.
    let out = root.join("../out.wasm");
    let o = weld(&[
        "fuse".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        app.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    let fused = exec::run_fused(&[("app", &wat::parse_file(&app).unwrap())], &bytes);
    assert_eq!(
        fused.calls[0],
        ("main".to_string(), "ok [\"i32:12\"]".to_string())
    );
}

#[test]
fn without_root_paths_stay_unresolved() {
    let (_tmp, root) = tree();
    let o = weld(&["graph".as_ref(), root.join("app.wat").as_os_str()]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("app imports ./lib/math.wasm.add3: no input is named `./lib/math.wasm`"),
        "{}",
        stdout(&o)
    );
}

/// Fuses an app importing `name` under the tree's root and returns stderr.
fn refused(name: &str, setup: impl FnOnce(&Path)) -> String {
    let (_tmp, root) = tree();
    setup(&root);
    let app = root.join("bad.wat");
    let escaped: String = name.bytes().map(|b| format!("\\{b:02x}")).collect();
    write(&app, &format!("(module (import \"{escaped}\" \"f\" (func)))"));
    let out = root.join("out.wasm");
    let o = weld(&[
        "fuse".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        app.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{name:?} was accepted");
    assert!(!out.exists());
    let err = stderr(&o);
    assert!(err.contains("bad.wat: import \""), "{err}");
    err
}

#[test]
fn refuses_absolute_paths() {
    assert!(refused("/etc/passwd.wasm", |_| {}).contains("absolute paths are refused"));
}

#[test]
fn refuses_dot_dot() {
    assert!(refused("../outside/secret.wasm", |_| {}).contains("`..` segments are refused"));
}

#[test]
fn refuses_empty_segments() {
    assert!(refused("lib//math.wasm", |_| {}).contains("empty path segments are refused"));
}

#[test]
fn refuses_backslashes() {
    assert!(refused("lib\\math.wasm", |_| {}).contains("backslashes are refused"));
}

#[test]
fn refuses_nul() {
    assert!(refused("lib/math\0.wasm", |_| {}).contains("NUL bytes are refused"));
}

#[test]
fn refuses_url_schemes() {
    assert!(refused("https://example.invalid/x.wasm", |_| {}).contains("URL schemes"));
}

#[cfg(unix)]
#[test]
fn refuses_symlinks_leaving_the_root() {
    let err = refused("./link.wasm", |root| {
        std::os::unix::fs::symlink(root.join("../outside/secret.wasm"), root.join("link.wasm")).unwrap();
    });
    assert!(err.contains("outside"), "{err}");
}

#[test]
fn refuses_map_entries_outside_their_directory() {
    let err = refused("evil", |root| {
        write(
            &root.join("weld.imports.toml"),
            "[imports]\nevil = \"../outside/secret.wasm\"\n",
        );
    });
    assert!(err.contains("`..` segments are refused"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_map_cannot_grant_outside_its_own_directory_even_by_link() {
    let (_tmp, root) = tree();
    // lib/up -> the root: reaches util/u.wasm, inside the root but outside lib/.
    std::os::unix::fs::symlink(&root, root.join("lib/up")).unwrap();
    write(
        &root.join("lib/weld.imports.toml"),
        "[imports]\nhelper = \"helpers/h\"\nsneak = \"up/util/u.wasm\"\n",
    );
    write(
        &root.join("lib/m2.wat"),
        "(module (import \"sneak\" \"twice\" (func)))",
    );
    let o = weld(&[
        "graph".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        root.join("lib/m2.wat").as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("import \"sneak\"") && err.contains("outside"),
        "{err}"
    );
}

#[test]
fn digest_map_entries_need_a_store() {
    let err = refused("pinned", |root| {
        let digest = format!("sha256:{}", "ab".repeat(32));
        write(
            &root.join("weld.imports.toml"),
            &format!("[imports]\npinned = \"{digest}\"\n"),
        );
    });
    assert!(err.contains("needs a store (--store DIR)"), "{err}");
}

/// Puts a library exporting `f` into `store` and maps the import name
/// `pinned` to its digest in `root`'s import map: the digest and the entry.
fn pin_lib(store: &dyn weld_linker::BlobStore, root: &std::path::Path) -> (weld_linker::Digest, String) {
    let lib = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 5))"#).unwrap();
    let (digest, _) = store.put(&lib).unwrap();
    let pinned = format!("sha256:{}", weld_format::names::hex(&digest));
    write(
        &root.join("weld.imports.toml"),
        &format!("[imports]\npinned = \"{pinned}\"\n"),
    );
    (digest, pinned)
}

#[test]
fn digest_map_entries_resolve_in_the_store_verified() {
    let (tmp, root) = tree();
    let store_dir = tmp.path().join("store");
    let store = weld_linker::OciDir::open_or_create(&store_dir).unwrap();
    let (digest, pinned) = pin_lib(&store, &root);
    let app = root.join("pin.wat");
    write(
        &app,
        r#"(module (import "pinned" "f" (func $f (result i32))) (func (export "main") (result i32) call $f))"#,
    );
    let out = tmp.path().join("out.wasm");
    let args = |out: &Path| {
        vec![
            "fuse".into(),
            "--root".into(),
            root.clone().into_os_string(),
            "--store".into(),
            store_dir.clone().into_os_string(),
            app.clone().into_os_string(),
            "-o".into(),
            out.as_os_str().to_owned(),
        ]
    };
    let o = weld(&args(&out));
    assert!(o.status.success(), "{}", stderr(&o));
    let fused = std::fs::read(&out).unwrap();
    wasmparser::Validator::new().validate_all(&fused).unwrap();
    // The graph says where it came from.
    let g = weld(&[
        "graph".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--store".as_ref(),
        store_dir.as_os_str(),
        app.as_os_str(),
    ]);
    assert!(
        stdout(&g).contains(&format!("{pinned} (store)")),
        "{}",
        stdout(&g)
    );
    // A corrupt blob is refused, naming the entry.
    let blob = store.blob_file(&digest);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes.push(0);
    std::fs::write(&blob, bytes).unwrap();
    let o = weld(&args(&tmp.path().join("out2.wasm")));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is corrupt"), "{}", stderr(&o));
}

#[test]
fn digest_map_entries_resolve_in_any_blob_store_verified() {
    use weld_linker::{BlobStore, LocateFailure, LocateOptions, MemoryStore, Refusal, Rule, StoreError};
    let (_tmp, root) = tree();
    let store = MemoryStore::new();
    let (digest, pinned) = pin_lib(&store, &root);
    let app = root.join("pin.wat");
    write(
        &app,
        r#"(module (import "pinned" "f" (func (result i32))) (import "pinned" "f" (func (result i32))))"#,
    );
    let opts = LocateOptions {
        root: Some(root.clone()),
        ..Default::default()
    };
    let inputs = || {
        weld_format::Inputs::load(&[weld_format::InputSpec::parse(app.to_str().unwrap()).unwrap()]).unwrap()
    };

    // The blob comes from the store, once, named by its digest.
    let located = weld_linker::locate(&opts, inputs(), Some(&store)).unwrap();
    assert_eq!(located.inputs.len(), 2);
    let blob = located.inputs.get(weld_format::InputId(1));
    assert_eq!(
        (blob.name.as_str(), blob.bytes()),
        (pinned.as_str(), store.get(&digest).unwrap().as_slice())
    );
    assert_eq!(located.links.len(), 1);
    assert!(
        matches!(&located.links[0].rule, Rule::Map { file, .. } if *file == format!("{pinned} (store)")),
        "{:?}",
        located.links[0].rule
    );

    // Without a store the entry cannot be followed.
    let err = weld_linker::locate(&opts, inputs(), None).unwrap_err();
    assert!(
        matches!(&err, LocateFailure::Refused(e) if matches!(&e[0].reason, Refusal::Digest(d) if *d == pinned)),
        "{err}"
    );

    // Bytes that do not hash to the digest are refused, the store's error kept.
    let corrupt = MemoryStore::new();
    corrupt.insert_unverified(digest, b"(module)".to_vec());
    let err = weld_linker::locate(&opts, inputs(), Some(&corrupt)).unwrap_err();
    let LocateFailure::Refused(refused) = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(
            &refused[0].reason,
            Refusal::Store { source, .. } if matches!(**source, StoreError::Corrupt { .. })
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("map entry `{pinned}`: blob {pinned} is corrupt")),
        "{err}"
    );
}

#[test]
fn missing_files_are_errors() {
    assert!(refused("./nope.wasm", |_| {}).contains("cannot find file `nope.wasm`"));
}

fn segment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a", "sub", "x.wasm", "link", "linkdir", "..", ".", "", "\\", ":", "\0", "C:", "http:", "/", "//",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the name, a resolved file is inside the root.
    #[test]
    fn random_names_never_resolve_outside_the_root(parts in prop::collection::vec(segment(), 1..7)) {
        let (tmp, root) = tree();
        let sub = root.join("sub");
        write(&sub.join("x.wasm"), "(module)");
        write(&sub.join("a/x.wasm"), "(module)");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(tmp.path().join("outside/secret.wasm"), sub.join("link")).unwrap();
            std::os::unix::fs::symlink(tmp.path().join("outside"), sub.join("linkdir")).unwrap();
        }
        let root = std::fs::canonicalize(&root).unwrap();
        let sub = std::fs::canonicalize(&sub).unwrap();
        let name = parts.join("/");
        if let Ok(p) = resolve_path(&root, &sub, &name) {
            prop_assert!(p.starts_with(&root), "{name:?} resolved to {}", p.display());
        }
        let name = parts.concat();
        if let Ok(p) = resolve_path(&root, &sub, &name) {
            prop_assert!(p.starts_with(&root), "{name:?} resolved to {}", p.display());
        }
    }
}

/// The example of the native-host import proposal, with `foo/`'s map given
/// as `map`:
///
/// ```text
/// myWasmModule/ index.wasm  foo/{wasi_import_map.json, foo.wasm, foobar/foobar.wasm}  bar/bar.wasm
/// ```
fn proposal_tree(map: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("myWasmModule");
    write(
        &root.join("index.wasm"),
        r#"(module
            (import "./foo/foo.wasm" "f" (func (result i32)))
            (import "./foo/foobar/foobar.wasm" "g" (func (result i32)))
            (import "./bar/bar.wasm" "h" (func (result i32))))"#,
    );
    write(
        &root.join("foo/foo.wasm"),
        r#"(module (func (export "f") (result i32) i32.const 1))"#,
    );
    write(
        &root.join("foo/foobar/foobar.wasm"),
        r#"(module (import "$foo" "f" (func (result i32))) (func (export "g") (result i32) call 0))"#,
    );
    write(
        &root.join("bar/bar.wasm"),
        r#"(module (func (export "h") (result i32) i32.const 3))"#,
    );
    write(&root.join("foo/wasi_import_map.json"), map);
    (tmp, root)
}

/// `weld fuse --root ROOT FILE`: its output (on success) and stderr.
fn fuse_under(root: &Path, file: &Path) -> (Option<Vec<u8>>, String) {
    let out = root.parent().unwrap().join("out.wasm");
    let _ = std::fs::remove_file(&out);
    let o = weld(&[
        "fuse".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        file.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let bytes = o.status.success().then(|| std::fs::read(&out).unwrap());
    if !o.status.success() {
        assert!(!out.exists(), "a failed run wrote its output");
    }
    (bytes, stderr(&o))
}

/// A module at `rel` under the root importing `name`, fused with `--root`:
/// the error it gives.
fn import_from(root: &Path, rel: &str, name: &str) -> String {
    let file = root.join(rel);
    write(
        &file,
        &format!("(module (import \"{name}\" \"f\" (func (result i32))))"),
    );
    let (out, err) = fuse_under(root, &file);
    assert!(out.is_none(), "{rel} importing {name:?} was accepted");
    std::fs::remove_file(&file).unwrap();
    err
}

#[test]
fn proposal_rule_1_index_reaches_foo_foobar_and_bar() {
    let (_tmp, root) = proposal_tree(r#"{"$foo": "foo.wasm"}"#);
    let (out, err) = fuse_under(&root, &root.join("index.wasm"));
    let out = out.unwrap_or_else(|| panic!("{err}"));
    wasmparser::Validator::new().validate_all(&out).unwrap();
    let o = weld(&[
        "graph".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        root.join("index.wasm").as_os_str(),
    ]);
    let text = stdout(&o);
    for edge in [
        "index imports ./foo/foo.wasm.f -> foo/foo.wasm exports f [path foo/foo.wasm]",
        "index imports ./foo/foobar/foobar.wasm.g -> foo/foobar/foobar.wasm exports g [path foo/foobar/foobar.wasm]",
        "index imports ./bar/bar.wasm.h -> bar/bar.wasm exports h [path bar/bar.wasm]",
        "foo/foobar/foobar.wasm imports $foo.f -> foo/foo.wasm exports f [map foo/wasi_import_map.json [$foo] -> foo/foo.wasm]",
    ] {
        assert!(text.contains(edge), "missing `{edge}` in\n{text}");
    }
}

#[test]
fn proposal_rule_2_foo_and_bar_reach_neither_each_other_nor_index() {
    let (_tmp, root) = proposal_tree(r#"{"$foo": "foo.wasm"}"#);
    assert!(import_from(&root, "foo/x.wasm", "../bar/bar.wasm").contains("`..` segments are refused"));
    assert!(import_from(&root, "foo/x.wasm", "../index.wasm").contains("`..` segments are refused"));
    assert!(
        import_from(&root, "bar/x.wasm", "./foo/foo.wasm").contains("cannot find file `bar/foo/foo.wasm`")
    );
    assert!(import_from(&root, "bar/x.wasm", "./index.wasm").contains("cannot find file `bar/index.wasm`"));
    let err = import_from(&root, "bar/x.wasm", "$foo");
    assert!(
        err.contains("key `$foo` not found in import maps: (none found up to the root)"),
        "{err}"
    );
    let err = import_from(&root, "foo/x.wasm", "$bar");
    assert!(
        err.contains("key `$bar` not found in import maps: foo/wasi_import_map.json"),
        "{err}"
    );
}

#[test]
fn proposal_rule_3_foobar_reaches_foo_only_through_a_key() {
    let (_tmp, root) = proposal_tree(r#"{"foo": "foo.wasm"}"#);
    let (out, err) = fuse_under(&root, &root.join("foo/foobar/foobar.wasm"));
    assert!(out.is_some(), "a key without its `$` works too: {err}");
    let (_tmp, root) = proposal_tree("{}");
    let (out, err) = fuse_under(&root, &root.join("foo/foobar/foobar.wasm"));
    assert!(out.is_none());
    assert!(
        err.contains("import \"$foo\": key `$foo` not found in import maps: foo/wasi_import_map.json"),
        "{err}"
    );
}

#[test]
fn proposal_rule_4_foos_map_cannot_grant_index_or_bar() {
    let (_tmp, root) = proposal_tree("{}");
    let abs = std::fs::canonicalize(&root).unwrap().join("bar/bar.wasm");
    write(
        &root.join("foo/wasi_import_map.json"),
        &format!(
            r#"{{"$index": "../index.wasm", "$bar": "{}", "$link": "barlink.wasm"}}"#,
            abs.display()
        ),
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(&abs, root.join("foo/barlink.wasm")).unwrap();
    let foobar = "foo/foobar/y.wasm";
    assert!(import_from(&root, foobar, "$index").contains("`..` segments are refused"));
    assert!(import_from(&root, foobar, "$bar").contains("absolute paths are refused"));
    #[cfg(unix)]
    {
        let err = import_from(&root, foobar, "$link");
        assert!(err.contains("outside") && err.contains("foo"), "{err}");
    }
}

#[test]
fn the_nearest_key_wins_and_keys_are_found_two_levels_up() {
    let (_tmp, root) = proposal_tree(r#"{"$foo": "foo.wasm"}"#);
    // A map at the root with the same key, further away: foo's wins.
    write(&root.join("wasi_import_map.json"), r#"{"$foo": "bar/bar.wasm"}"#);
    let deep = root.join("foo/foobar/deeper/z.wasm");
    write(&deep, r#"(module (import "$foo" "f" (func (result i32))))"#);
    let o = weld(&[
        "graph".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        deep.as_os_str(),
    ]);
    assert!(
        stdout(&o).contains("[map foo/wasi_import_map.json [$foo] -> foo/foo.wasm]"),
        "{}",
        stdout(&o)
    );
    // The same key in both map files of one folder is an error.
    write(
        &root.join("foo/weld.imports.toml"),
        "[imports]\n\"$foo\" = \"foo.wasm\"\n",
    );
    let (out, err) = fuse_under(&root, &deep);
    assert!(out.is_none());
    assert!(
        err.contains("key `$foo` is also defined in wasi_import_map.json"),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the import names (`$` keys, `@` host names, paths), every
    /// file found is inside the root, and no `@` name reaches a file, even
    /// one whose path it spells.
    #[test]
    fn random_import_names_stay_inside_the_root_and_at_names_never_touch_files(
        names in prop::collection::vec(
            (prop::sample::select(vec!["", "./", "$", "@", "../", "/"]),
             prop::collection::vec(prop::sample::select(vec!["foo", "bar", "x.wasm", "..", ".", "wasi", "fs.wasm", "link"]), 1..4)),
            1..5)
    ) {
        let (tmp, root) = proposal_tree(r#"{"$foo": "foo.wasm", "$x.wasm": "../bar/bar.wasm", "$link": "link"}"#);
        write(&root.join("@wasi/fs.wasm"), r#"(module (func (export "f") (result i32) i32.const 9))"#);
        write(&root.join("@foo"), r#"(module (func (export "f") (result i32) i32.const 9))"#);
        #[cfg(unix)]
        let _ = std::os::unix::fs::symlink(tmp.path(), root.join("foo/link"));
        let mut wat = String::from("(module");
        for (prefix, parts) in &names {
            let name = format!("{prefix}{}", parts.join("/"));
            let escaped: String = name.bytes().map(|b| format!("\\{b:02x}")).collect();
            wat.push_str(&format!(" (import \"{escaped}\" \"f\" (func (result i32)))"));
        }
        wat.push(')');
        let app = root.join("foo/app.wasm");
        write(&app, &wat);
        let canonical_root = std::fs::canonicalize(&root).unwrap();
        let inputs = weld_format::Inputs::load(&[weld_format::InputSpec::parse(app.to_str().unwrap()).unwrap()]).unwrap();
        let opts = weld_linker::LocateOptions { root: Some(root.clone()), ..Default::default() };
        if let Ok(located) = weld_linker::locate(&opts, inputs, None) {
            for link in &located.links {
                prop_assert!(!link.module.starts_with('@'), "{} reached a file", link.module);
                let p = located.inputs.get(link.provider).path.clone().unwrap();
                let p = std::fs::canonicalize(p).unwrap();
                prop_assert!(p.starts_with(&canonical_root), "{} resolved to {}", link.module, p.display());
            }
        }
    }
}
