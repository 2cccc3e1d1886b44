//! `weld split` / `weld bundle` / `weld store`: round trips over generated
//! components with nested modules and components (several levels, repeated
//! children), dedupe across apps, and every way a store can be bad.

mod common;

use common::{stderr, stdout, weld};
use weld_format::digest::sha256;
use weld_format::names::hex;
use weld_linker::{bundle, BundleOptions};
use weld_linker::{split, SplitOptions};
use weld_linker::{BlobStore, MemoryStore, OciDir};

/// A core module returning `k` from `f`, padded with `pad` extra functions so
/// its size can be chosen.
fn module(k: i32, pad: usize) -> String {
    format!("(core {}", &standalone(k, pad)[1..])
}

/// The same module as a standalone binary's text.
fn standalone(k: i32, pad: usize) -> String {
    let mut s = format!("(module (func (export \"f\") (result i32) i32.const {k})");
    for i in 0..pad {
        s.push_str(&format!("(func (export \"p{i}\") (result i32) i32.const {i})"));
    }
    s.push(')');
    s
}

/// An inner component: two modules (the first also used elsewhere) and an
/// export `f` = the first module's f.
fn inner(k: i32) -> String {
    format!(
        r#"(component
            {}
            {}
            (core instance $i (instantiate 0))
            (func $f (result u32) (canon lift (core func $i "f")))
            (export "f" (func $f)))"#,
        module(k, 20),
        module(k + 100, 20)
    )
}

/// An app: a module at the top, the same module again (a repeated child in
/// one component), a component nesting another level, and the same inner
/// component twice; exports `run` from the deepest level.
fn app(k: i32) -> Vec<u8> {
    let text = format!(
        r#"(component
            {m}
            {m}
            (component $mid
              {inner}
              (instance $x (instantiate 0))
              (alias export $x "f" (func $f))
              (export "f" (func $f)))
            {inner}
            {inner}
            (instance $a (instantiate $mid))
            (instance $b (instantiate 2))
            (alias export $a "f" (func $run))
            (export "run" (func $run)))"#,
        m = module(7, 20),
        inner = inner(k),
    );
    wat::parse_str(&text).unwrap()
}

fn validate(bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .unwrap();
}

fn counts(bytes: &[u8]) -> (usize, usize) {
    let (mut modules, mut components) = (0, 0);
    for p in wasmparser::Parser::new(0).parse_all(bytes) {
        match p.unwrap() {
            wasmparser::Payload::ModuleSection { .. } => modules += 1,
            wasmparser::Payload::ComponentSection { .. } => components += 1,
            _ => {}
        }
    }
    (modules, components)
}

#[test]
fn round_trip_through_several_levels_with_repeated_children() {
    let dir = tempfile::tempdir().unwrap();
    let store = OciDir::open_or_create(&dir.path().join("store")).unwrap();
    let x = app(1);
    let s = split(
        &SplitOptions {
            min_size: 0,
            ..Default::default()
        },
        "app",
        &x,
        &store,
    )
    .unwrap();
    validate(&s.root);
    // Only the top level is left: its two modules and three components became imports.
    assert_eq!(counts(&s.root), (0, 0));
    // Every replacement at every level (12), of 5 distinct children: the top
    // module (twice), the mid component, and inside the three copies of the
    // inner component its two modules, and the inner component itself.
    assert_eq!(s.children.len(), 12, "{:?}", s.children);
    let distinct: std::collections::HashSet<_> = s.children.iter().map(|c| c.digest).collect();
    assert_eq!(distinct.len(), 5);
    // Every blob is a child as it stands after its own split, valid alone.
    for d in &distinct {
        validate(&store.get(d).unwrap());
    }
    let b = bundle(&BundleOptions::default(), "root", &s.root, &store).unwrap();
    validate(&b.bytes);
    // A child repeated in one component comes back once: its second place
    // stays an `alias outer 0` of the first. So 8 module and 4 component
    // sections become 5 and 3, and the bundle is smaller than the original.
    assert_eq!(counts(&x), (8, 4));
    assert_eq!(counts(&b.bytes), (5, 3));
    assert!(b.bytes.len() < x.len());
    assert_eq!(exports(&b.bytes), exports(&x));
    assert_eq!(exports(&x), ["run"]);
}

/// The top-level export names.
fn exports(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for s in weld_linker::stages::sections(bytes).unwrap() {
        if let wasmparser::Payload::ComponentExportSection(r) = s.payload {
            out.extend(r.into_iter().map(|e| e.unwrap().name.name.to_string()));
        }
    }
    out
}

#[test]
fn identical_children_of_two_apps_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = OciDir::open_or_create(&dir.path().join("store")).unwrap();
    let opts = SplitOptions {
        min_size: 0,
        ..Default::default()
    };
    let a = split(&opts, "a", &app(1), &store).unwrap();
    let b = split(&opts, "b", &app(2), &store).unwrap();
    // The top-level module is the same in both apps: b finds it stored.
    let shared = a.children.iter().find(|c| c.path == "a/module 0").unwrap();
    let again = b.children.iter().find(|c| c.path == "b/module 0").unwrap();
    assert_eq!(shared.digest, again.digest);
    assert!(shared.new && !again.new);
    let blobs = std::fs::read_dir(dir.path().join("store/blobs/sha256"))
        .unwrap()
        .count();
    let distinct: std::collections::HashSet<_> =
        a.children.iter().chain(&b.children).map(|c| c.digest).collect();
    assert_eq!(
        blobs,
        distinct.len(),
        "each distinct child once (no manifests recorded yet)"
    );
}

#[test]
fn min_size_keeps_small_children_inline() {
    let dir = tempfile::tempdir().unwrap();
    let store = OciDir::open_or_create(&dir.path().join("store")).unwrap();
    let x = app(1);
    let s = split(
        &SplitOptions {
            min_size: usize::MAX,
            ..Default::default()
        },
        "app",
        &x,
        &store,
    )
    .unwrap();
    assert!(s.children.is_empty());
    assert_eq!(s.root, x, "nothing to split: the bytes are unchanged");
}

/// Splits `app(1)` with the CLI; returns (dir, store path, root path).
fn cli_split() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("app.wasm");
    std::fs::write(&input, app(1)).unwrap();
    let store = dir.path().join("store");
    let root = dir.path().join("root.wasm");
    let o = weld(&[
        "split",
        input.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "-o",
        root.to_str().unwrap(),
        "--min-size",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    (dir, store, root)
}

fn cli_bundle(
    store: &std::path::Path,
    root: &std::path::Path,
    out: &std::path::Path,
) -> std::process::Output {
    weld(&[
        "bundle",
        root.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
}

/// The blob the top-level module 0 went to.
fn first_blob(store: &std::path::Path) -> std::path::PathBuf {
    let m = wat::parse_str(standalone(7, 20)).unwrap();
    store.join("blobs/sha256").join(hex(&sha256(&m)))
}

#[test]
fn store_is_an_oci_layout_listed_and_verified() {
    let (_dir, store, root) = cli_split();
    let layout = std::fs::read_to_string(store.join("oci-layout")).unwrap();
    assert!(layout.contains("\"imageLayoutVersion\":\"1.0.0\""), "{layout}");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(store.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "app"
    );
    let ls = weld(&["store", "ls", store.to_str().unwrap()]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    assert!(stdout(&ls).contains("app (manifest)"), "{}", stdout(&ls));
    let v = weld(&["store", "verify", store.to_str().unwrap()]);
    assert!(v.status.success(), "{}", stderr(&v));
    let _ = root;
}

#[test]
fn a_flipped_byte_is_a_clear_error_and_nothing_is_written() {
    let (dir, store, root) = cli_split();
    let blob = first_blob(&store);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&blob, &bytes).unwrap();
    let out = dir.path().join("out.wasm");
    std::fs::write(&out, b"previous").unwrap();
    let o = cli_bundle(&store, &root, &out);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("import `sha256-") && e.contains("is corrupt"), "{e}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
    let v = weld(&["store", "verify", store.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    assert!(stderr(&v).contains("is corrupt"), "{}", stderr(&v));
}

#[test]
fn a_missing_blob_is_a_clear_error() {
    let (dir, store, root) = cli_split();
    std::fs::remove_file(first_blob(&store)).unwrap();
    let out = dir.path().join("out.wasm");
    let o = cli_bundle(&store, &root, &out);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not in the store"), "{}", stderr(&o));
    assert!(!out.exists());
    let v = weld(&["store", "verify", store.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
}

#[test]
fn a_blob_renamed_to_another_digest_is_a_clear_error() {
    let (dir, store, root) = cli_split();
    let blob = first_blob(&store);
    // Put another blob's bytes under this blob's name.
    let other = std::fs::read_dir(store.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| *p != blob && std::fs::metadata(p).unwrap().len() > 100)
        .unwrap();
    std::fs::remove_file(&blob).unwrap();
    std::fs::rename(&other, &blob).unwrap();
    let o = cli_bundle(&store, &root, &dir.path().join("out.wasm"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is corrupt"), "{}", stderr(&o));
}

#[test]
fn legacy_integrity_names_are_read() {
    // A root written the old way: `integrity=sha256-<base64>`.
    let dir = tempfile::tempdir().unwrap();
    let store = OciDir::open_or_create(dir.path()).unwrap();
    let m = wat::parse_str(standalone(3, 2)).unwrap();
    let (digest, _) = store.put(&m).unwrap();
    let b64 = base64(&digest);
    let root = wat::parse_str(format!(
        r#"(component
            (core type $t (module (export "f" (func (result i32)))))
            (import "integrity=sha256-{b64}" (core module $m (type $t)))
            (core instance $i (instantiate $m))
            (func $f (result u32) (canon lift (core func $i "f")))
            (export "f" (func $f)))"#
    ))
    .unwrap();
    let b = bundle(&BundleOptions::default(), "old", &root, &store).unwrap();
    validate(&b.bytes);
    assert_eq!(b.inlined.len(), 1);
}

#[test]
fn a_blob_of_another_type_than_declared_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = OciDir::open_or_create(dir.path()).unwrap();
    let m = wat::parse_str(standalone(3, 0)).unwrap();
    let (digest, _) = store.put(&m).unwrap();
    let h = hex(&digest);
    // Declares an export `g` the blob does not have.
    let root = wat::parse_str(format!(
        r#"(component
            (core type $t (module (export "g" (func (result i32)))))
            (import "sha256-{h}" (core module $m (type $t))))"#
    ))
    .unwrap();
    let e = bundle(&BundleOptions::default(), "root", &root, &store)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("import `sha256-{h}`")) && e.contains("does not have the declared type"),
        "{e}"
    );
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            s.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

#[test]
fn real_components_split_into_one_store_and_bundle_back() {
    let names = [
        "jco-1.0.3-js-component-bindgen",
        "jco-1.0.3-wasm-tools",
        "jco-0.14.2-js-component-bindgen",
        "jco-0.14.2-wasm-tools",
    ];
    let dir = tempfile::tempdir().unwrap();
    let store = OciDir::open_or_create(dir.path()).unwrap();
    for name in names {
        let Some(path) = common::real_binary(name) else {
            continue;
        };
        let x = std::fs::read(&path).unwrap();
        let s = split(&SplitOptions::default(), name, &x, &store).unwrap();
        validate(&s.root);
        assert!(s.root.len() < x.len() / 10, "{name}: the root keeps little");
        let b = bundle(&BundleOptions::default(), name, &s.root, &store).unwrap();
        validate(&b.bytes);
        assert_eq!(exports(&b.bytes), exports(&x), "{name}");
        assert_eq!(imports(&b.bytes), imports(&x), "{name}");
    }
}

/// The top-level import names.
fn imports(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for s in weld_linker::stages::sections(bytes).unwrap() {
        if let wasmparser::Payload::ComponentImportSection(r) = s.payload {
            out.extend(r.into_iter().map(|e| e.unwrap().name.name.to_string()));
        }
    }
    out
}

#[test]
fn cli_splits_several_apps_into_one_store_and_lists_who_uses_what() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.wasm");
    let b = dir.path().join("b.wasm");
    std::fs::write(&a, app(1)).unwrap();
    std::fs::write(&b, app(2)).unwrap();
    let store = dir.path().join("store");
    let roots = dir.path().join("roots");
    let o = weld(&[
        "split",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--out-dir",
        roots.to_str().unwrap(),
        "--min-size",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["a", "b"] {
        let root = roots.join(format!("{name}.wasm"));
        validate(&std::fs::read(&root).unwrap());
        let out = dir.path().join(format!("{name}.back.wasm"));
        let o = cli_bundle(&store, &root, &out);
        assert!(o.status.success(), "{}", stderr(&o));
        validate(&std::fs::read(&out).unwrap());
    }
    // The top-level module is the same in both apps: one blob, used by both.
    let ls = weld(&["store", "ls", store.to_str().unwrap(), "--json"]);
    let blobs: serde_json::Value = serde_json::from_str(&stdout(&ls)).unwrap();
    let shared = format!(
        "sha256:{}",
        hex(&sha256(&wat::parse_str(standalone(7, 20)).unwrap()))
    );
    let entry = blobs
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["digest"] == shared.as_str())
        .unwrap();
    let users: Vec<&str> = entry["used_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(users, ["a", "b"], "{entry}");
    // -o with several inputs is a usage error.
    let o = weld(&[
        "split",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "-o",
        dir.path().join("x.wasm").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--out-dir"), "{}", stderr(&o));
}

#[test]
fn split_and_bundle_round_trip_through_the_memory_store() {
    let store = MemoryStore::new();
    let x = app(1);
    let s = split(
        &SplitOptions {
            min_size: 0,
            ..Default::default()
        },
        "app",
        &x,
        &store,
    )
    .unwrap();
    validate(&s.root);
    assert_eq!(store.digests().len(), s.layers().len());
    let b = bundle(&BundleOptions::default(), "root", &s.root, &store).unwrap();
    validate(&b.bytes);
    assert_eq!(exports(&b.bytes), exports(&x));
    // The same bytes as bundling from a directory store.
    let dir = tempfile::tempdir().unwrap();
    let oci = OciDir::open_or_create(dir.path()).unwrap();
    let s2 = split(
        &SplitOptions {
            min_size: 0,
            ..Default::default()
        },
        "app",
        &x,
        &oci,
    )
    .unwrap();
    assert_eq!(s2.root, s.root);
    assert_eq!(
        bundle(&BundleOptions::default(), "root", &s2.root, &oci)
            .unwrap()
            .bytes,
        b.bytes
    );
}

#[test]
fn a_corrupt_blob_in_the_memory_store_is_an_error_naming_its_digest() {
    let store = MemoryStore::new();
    let s = split(
        &SplitOptions {
            min_size: 0,
            ..Default::default()
        },
        "app",
        &app(1),
        &store,
    )
    .unwrap();
    let m = wat::parse_str(standalone(7, 20)).unwrap();
    let digest = sha256(&m);
    let mut bad = store.get(&digest).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    store.insert_unverified(digest, bad);
    let e = bundle(&BundleOptions::default(), "root", &s.root, &store).unwrap_err();
    let named = format!("sha256:{}", hex(&digest));
    assert!(
        matches!(
            &e,
            weld_linker::BundleError::Blob { source, .. }
                if matches!(&**source, weld_linker::StoreError::Corrupt { digest, .. } if *digest == named)
        ),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains(&named) && text.contains("is corrupt"), "{text}");
    assert!(
        text.contains(&format!("import `sha256-{}`", hex(&digest))),
        "{text}"
    );
}

#[test]
fn split_apps_stores_a_shared_child_once_and_counts_it_new_for_the_first_app() {
    let store = MemoryStore::new();
    let inputs = weld_format::Inputs::from_memory([("a", app(1)), ("b", app(2))]).unwrap();
    let splits = weld_linker::split_apps(
        &SplitOptions {
            min_size: 0,
            ..Default::default()
        },
        &inputs,
        &store,
    )
    .unwrap();
    let shared = sha256(&wat::parse_str(standalone(7, 20)).unwrap());
    let places = |s: &weld_linker::Split| -> Vec<bool> {
        s.children
            .iter()
            .filter(|c| c.digest == shared)
            .map(|c| c.new)
            .collect()
    };
    // In a, the module is at the top twice (the second an alias): new once.
    assert_eq!(places(&splits[0]), [true, false]);
    assert_eq!(places(&splits[1]), [false, false]);
    // Every distinct child once, plus per app its root, config and manifest.
    let distinct: std::collections::HashSet<_> = splits
        .iter()
        .flat_map(|s| &s.children)
        .map(|c| c.digest)
        .collect();
    assert_eq!(store.digests().len(), distinct.len() + 6);
    let new: usize = splits.iter().map(|s| s.new_children()).sum();
    assert_eq!(
        new,
        distinct.len(),
        "each stored blob is new for exactly one place"
    );
    let apps: Vec<String> = store.manifests().into_iter().map(|(a, _)| a).collect();
    assert_eq!(apps, ["a", "b"]);
    for s in &splits {
        validate(
            &bundle(&BundleOptions::default(), "root", &s.root, &store)
                .unwrap()
                .bytes,
        );
    }
}

#[test]
fn split_apps_writes_the_same_store_on_one_thread_and_on_many() {
    // Several apps sharing children, so parallel puts race for them.
    let apps: Vec<(String, Vec<u8>)> = (0..6).map(|k| (format!("app{k}"), app(k % 3))).collect();
    let run = |threads: usize| {
        let dir = tempfile::tempdir().unwrap();
        let store = OciDir::open_or_create(&dir.path().join("store")).unwrap();
        let inputs = weld_format::Inputs::from_memory(apps.clone()).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let opts = SplitOptions {
            min_size: 0,
            created: std::time::UNIX_EPOCH,
        };
        let splits = pool
            .install(|| weld_linker::split_apps(&opts, &inputs, &store))
            .unwrap();
        let news: Vec<Vec<bool>> = splits
            .iter()
            .map(|s| s.children.iter().map(|c| c.new).collect())
            .collect();
        let index = std::fs::read(store.dir().join("index.json")).unwrap();
        let blobs: Vec<(String, Vec<u8>)> = store
            .list()
            .unwrap()
            .into_iter()
            .map(|b| {
                let d = weld_format::names::parse_hash_name_hex(&b.digest["sha256:".len()..]).unwrap();
                (b.digest, store.get(&d).unwrap())
            })
            .collect();
        (index, blobs, news)
    };
    let one = run(1);
    for _ in 0..3 {
        let many = run(4);
        assert_eq!(String::from_utf8_lossy(&many.0), String::from_utf8_lossy(&one.0));
        assert!(many.1 == one.1, "the same blobs, manifests included");
        assert_eq!(many.2, one.2, "`new` goes to the first app in input order");
    }
}

#[test]
fn a_type_mismatch_names_the_import_that_has_it_not_the_first() {
    let store = MemoryStore::new();
    let (good, _) = store.put(&wat::parse_str(standalone(3, 0)).unwrap()).unwrap();
    let (bad, _) = store.put(&wat::parse_str(standalone(4, 1)).unwrap()).unwrap();
    let (g, b) = (hex(&good), hex(&bad));
    // The second declares an export `g` its blob does not have.
    let root = wat::parse_str(format!(
        r#"(component
            (core type $ok (module (export "f" (func (result i32)))))
            (core type $no (module (export "g" (func (result i32)))))
            (import "sha256-{g}" (core module (type $ok)))
            (import "sha256-{b}" (core module (type $no))))"#
    ))
    .unwrap();
    let e = bundle(&BundleOptions::default(), "root", &root, &store)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("import `sha256-{b}`")) && e.contains("does not have the declared type"),
        "{e}"
    );
}

/// The app of `store` as its manifest and config describe it.
fn artifact_of(store: &OciDir, app: &str) -> (oci_spec::image::ImageManifest, serde_json::Value) {
    let (tag, _) = weld_linker::open_app(store, app).unwrap();
    let manifest =
        oci_spec::image::ImageManifest::from_reader(&store.get(&tag.manifest).unwrap()[..]).unwrap();
    let config_digest = weld_format::names::parse_hash_name_hex(manifest.config().digest().digest()).unwrap();
    let config = serde_json::from_slice(&store.get(&config_digest).unwrap()).unwrap();
    (manifest, config)
}

#[test]
fn a_split_app_is_a_wasm_oci_artifact_with_its_root_as_layer_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = OciDir::open_or_create(&dir.path().join("store")).unwrap();
    let inputs = weld_format::Inputs::from_memory([("app", app(1))]).unwrap();
    let opts = SplitOptions {
        min_size: 0,
        created: std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_547_200),
    };
    let splits = weld_linker::split_apps(&opts, &inputs, &store).unwrap();
    let (manifest, config) = artifact_of(&store, "app");
    assert_eq!(
        manifest.config().media_type().to_string(),
        "application/vnd.wasm.config.v0+json"
    );
    let layers = manifest.layers();
    assert_eq!(
        layers[0].digest().digest(),
        hex(&sha256(&splits[0].root)),
        "layers[0] is the root"
    );
    assert_eq!(layers.len(), 1 + splits[0].layers().len());
    for l in layers {
        assert_eq!(l.media_type().to_string(), "application/wasm");
        assert!(l
            .annotations()
            .as_ref()
            .unwrap()
            .contains_key("org.opencontainers.image.title"));
    }
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["created"], "2025-12-01T00:00:00Z");
    let digests: Vec<String> = layers.iter().map(|l| l.digest().to_string()).collect();
    assert_eq!(config["layerDigests"], serde_json::json!(digests));
    // The app's own world: its export, not the hash-named children it imports.
    assert_eq!(config["component"]["exports"], serde_json::json!(["run"]));
    assert_eq!(config["component"]["imports"], serde_json::json!([]));
    assert!(store.verify().unwrap().is_empty());
    // Bundled by name alone, it is the app again.
    let back = weld_linker::bundle_app(&BundleOptions::default(), &store, "app").unwrap();
    validate(&back.bytes);
    let from_file = bundle(&BundleOptions::default(), "root", &splits[0].root, &store).unwrap();
    assert_eq!(back.bytes, from_file.bytes);
}

#[test]
fn a_store_written_by_an_earlier_weld_still_opens_and_verify_names_what_is_not_conformant() {
    let dir = tempfile::tempdir().unwrap();
    let store = OciDir::open_or_create(&dir.path().join("store")).unwrap();
    let s = split(
        &SplitOptions {
            min_size: 0,
            ..Default::default()
        },
        "app",
        &app(1),
        &store,
    )
    .unwrap();
    // What weld wrote before the Wasm artifact layout: the empty config, the
    // children as layers, the root named only by an annotation.
    let (config, _) = store.put(b"{}").unwrap();
    let layers: Vec<String> = s
        .layers()
        .iter()
        .map(|(d, size)| {
            format!(
                r#"{{"mediaType":"application/wasm","digest":"sha256:{}","size":{size}}}"#,
                hex(d)
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/wasm","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:{}","size":2}},"layers":[{}],"annotations":{{"dev.weld.root":"sha256:{}","org.opencontainers.image.ref.name":"app"}}}}"#,
        hex(&config),
        layers.join(","),
        hex(&sha256(&s.root))
    );
    let (m, _) = store.put(manifest.as_bytes()).unwrap();
    store
        .tag(&[weld_linker::Tag {
            name: "app".to_string(),
            manifest: m,
            size: manifest.len() as u64,
        }])
        .unwrap();
    let store = OciDir::open(store.dir()).unwrap();
    // The root file still bundles from it.
    validate(
        &bundle(&BundleOptions::default(), "root", &s.root, &store)
            .unwrap()
            .bytes,
    );
    // verify names each departure, with the app.
    let problems: Vec<String> = store.verify().unwrap().iter().map(|p| p.to_string()).collect();
    assert!(
        problems.iter().any(|p| p.contains("app `app`")
            && p.contains("config media type is application/vnd.oci.empty.v1+json")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("root is not stored")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("has no org.opencontainers.image.title")),
        "{problems:?}"
    );
    // Bundling by name says why it cannot.
    let e = weld_linker::bundle_app(&BundleOptions::default(), &store, "app").unwrap_err();
    assert!(e.to_string().contains("earlier weld"), "{e}");
}
