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

#[test]
fn digest_map_entries_resolve_in_the_store_verified() {
    let (tmp, root) = tree();
    let store_dir = tmp.path().join("store");
    let store = weld_linker::Store::open_or_create(&store_dir).unwrap();
    let lib = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 5))"#).unwrap();
    let (digest, _) = store.put(&lib).unwrap();
    let pinned = format!("sha256:{}", weld_format::names::hex(&digest));
    write(
        &root.join("weld.imports.toml"),
        &format!("[imports]\npinned = \"{pinned}\"\n"),
    );
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
fn missing_files_are_errors() {
    assert!(refused("./nope.wasm", |_| {}).contains("no file `./nope.wasm`"));
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
