//! `weld push` / `weld pull` against a real registry (Debian's
//! `docker-registry`, distribution 2.8, started per test), interop with
//! `skopeo` both ways, layers deduplicated across repositories, and the
//! faults: corrupt and missing blobs in the registry's storage, a push
//! killed midway, wrong credentials, a missing tag.
//!
//! Under CI (`CI` set) a missing registry, skopeo, wasm-tools or real
//! binary fails the test; elsewhere the test prints why and skips.

mod common;
#[path = "common/registry.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{real_binary, stderr, stdout, wit};
use harness::{skopeo, wasm_tools, Registry};

/// The four jco components of corpus/real.lock: two programs, two versions.
const JCO: [(&str, &str); 4] = [
    ("js-component-bindgen", "1.0.3"),
    ("wasm-tools", "1.0.3"),
    ("js-component-bindgen", "0.14.2"),
    ("wasm-tools", "0.14.2"),
];

/// `weld ARGS` with a private blob-location cache and no ambient credentials.
fn weld_command<S: AsRef<std::ffi::OsStr>>(cache: &Path, args: &[S]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weld"));
    c.args(args)
        .env("WELD_CACHE_DIR", cache)
        .env("DOCKER_CONFIG", cache.join("no-docker-config"))
        .env_remove("WELD_REGISTRY_USER")
        .env_remove("WELD_REGISTRY_PASSWORD");
    c
}

/// `weld` run to the end (see [`weld_command`]), with more environment.
fn weld_in(cache: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = weld_command(cache, args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("weld runs")
}

/// `weld ARGS --insecure HOST` started in the background (see
/// [`weld_command`]), its output captured.
fn spawn_at_registry(cache: &Path, host: &str, args: &[String]) -> std::process::Child {
    weld_command(cache, args)
        .args(["--insecure", host])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// `weld ARGS --insecure HOST`: a command against the test registry.
fn at_registry(cache: &Path, host: &str, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--insecure", host]);
    weld_in(cache, &all, &[])
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "weld failed: {}{}", stdout(o), stderr(o));
    stderr(o)
}

/// What a push's summary line says: (blobs uploaded, their bytes, manifest
/// bytes, mounted, skipped).
fn push_stats(err: &str) -> (u64, u64, u64, u64, u64) {
    let line = err
        .lines()
        .find(|l| l.starts_with("weld: pushed"))
        .unwrap_or_else(|| panic!("no summary in {err}"));
    // ... uploaded N blobs (B bytes) and the manifest (M bytes); mounted K (..); skipped S ...
    let at = line.find("uploaded").unwrap();
    let tail: Vec<u64> = line[at..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (tail[0], tail[1], tail[2], tail[3], tail[5])
}

fn jco_paths() -> Option<Vec<(String, String, PathBuf)>> {
    JCO.iter()
        .map(|(p, v)| real_binary(&format!("jco-{v}-{p}")).map(|path| (p.to_string(), v.to_string(), path)))
        .collect()
}

fn validate(bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .expect("the output validates");
}

#[test]
fn jco_components_through_two_repositories_upload_each_shared_layer_once_and_pull_back_the_same_world() {
    let (Some(apps), Some(tools)) = (jco_paths(), wasm_tools()) else {
        return;
    };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let host = reg.host.as_str();
    let mut uploaded_total = 0;
    let sum_of_sizes: u64 = apps
        .iter()
        .map(|(_, _, p)| std::fs::metadata(p).unwrap().len())
        .sum();
    for repo in ["one", "two"] {
        for (prog, ver, path) in &apps {
            let target = format!("{host}/{repo}/{prog}:{ver}");
            let err = ok(&at_registry(
                cache.path(),
                host,
                &["push", path.to_str().unwrap(), &target],
            ));
            let (n, bytes, manifest, mounted, _) = push_stats(&err);
            uploaded_total += bytes + manifest;
            if repo == "two" {
                // Everything is in repository one already: mounted, not sent.
                assert_eq!((n, bytes), (0, 0), "{err}");
                assert!(mounted > 0, "{err}");
            }
        }
    }
    // The registry saw every blob uploaded once, over both repositories.
    let uploads = reg.uploaded_digests();
    let mut distinct = uploads.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        uploads.len(),
        distinct.len(),
        "a blob was uploaded twice: {uploads:?}"
    );
    eprintln!(
        "registry dedupe: 4 jco components into two repositories: {uploaded_total} bytes uploaded \
         (blobs and manifests) against {} bytes for a one-layer publisher ({} per repository)",
        2 * sum_of_sizes,
        sum_of_sizes
    );
    assert!(
        uploaded_total < sum_of_sizes + 64 * 1024,
        "{uploaded_total} vs {sum_of_sizes}"
    );
    // A second push of the same app uploads the manifest only.
    let (prog, ver, path) = &apps[0];
    let err = ok(&at_registry(
        cache.path(),
        host,
        &[
            "push",
            path.to_str().unwrap(),
            &format!("{host}/one/{prog}:{ver}"),
        ],
    ));
    let (n, bytes, _, mounted, skipped) = push_stats(&err);
    assert_eq!((n, bytes, mounted), (0, 0, 0), "{err}");
    assert!(skipped >= 2, "{err}");

    // Pull each back from repository two: the same world, valid, and every
    // manifest a conformant Wasm OCI artifact whose layers[0] is the root.
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store");
    for (prog, ver, path) in &apps {
        let file = out.path().join(format!("{prog}-{ver}.wasm"));
        let name = format!("{prog}-{ver}");
        ok(&at_registry(
            cache.path(),
            host,
            &[
                "pull",
                &format!("{host}/two/{prog}:{ver}"),
                "-o",
                file.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
                "--name",
                &name,
            ],
        ));
        validate(&std::fs::read(&file).unwrap());
        assert_eq!(wit(&tools, &file), wit(&tools, path), "{prog} {ver}");
        check_artifact(&store, &name);
    }
}

/// The app `name` of the OCI layout `dir` follows the Wasm OCI artifact
/// layout, read with oci-spec.
fn check_artifact(dir: &Path, name: &str) {
    use oci_spec::image::{ImageIndex, ImageManifest};
    let index = ImageIndex::from_file(dir.join("index.json")).unwrap();
    let entry = index
        .manifests()
        .iter()
        .find(|m| {
            m.annotations()
                .as_ref()
                .and_then(|a| a.get("org.opencontainers.image.ref.name"))
                == Some(&name.to_string())
        })
        .unwrap_or_else(|| panic!("no index entry for {name}"));
    let blob = |d: &oci_spec::image::Digest| dir.join("blobs/sha256").join(d.digest());
    let manifest = ImageManifest::from_file(blob(entry.digest())).unwrap();
    assert_eq!(
        manifest.config().media_type().to_string(),
        "application/vnd.wasm.config.v0+json"
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(manifest.config().digest())).unwrap()).unwrap();
    assert_eq!(config["architecture"], "wasm", "{config}");
    assert_eq!(config["os"], "wasip2", "{config}");
    assert!(
        config["created"].as_str().is_some_and(|c| c.ends_with('Z')),
        "{config}"
    );
    let layers: Vec<String> = manifest.layers().iter().map(|l| l.digest().to_string()).collect();
    assert_eq!(config["layerDigests"], serde_json::json!(layers), "{config}");
    let exports = config["component"]["exports"].as_array().unwrap();
    assert!(!exports.is_empty(), "{config}");
    assert!(config["component"]["imports"].is_array(), "{config}");
    // layers[0] is the root: a component importing every other layer by its
    // canonical hash name.
    let root = std::fs::read(blob(manifest.layers()[0].digest())).unwrap();
    assert!(wasmparser::Parser::is_component(&root));
    let text = String::from_utf8_lossy(&root);
    for l in &manifest.layers()[1..] {
        assert!(
            text.contains(&format!("sha256-{}", l.digest().digest())),
            "{name}: root lacks {}",
            l.digest()
        );
        assert_eq!(l.media_type().to_string(), "application/wasm");
    }
    for l in manifest.layers() {
        assert!(l
            .annotations()
            .as_ref()
            .is_some_and(|a| a.contains_key("org.opencontainers.image.title")));
    }
}

#[test]
fn skopeo_copies_a_weld_artifact_both_ways_and_weld_rebuilds_it() {
    let (Some(apps), Some(skopeo), Some(tools)) = (jco_paths(), skopeo(), wasm_tools()) else {
        return;
    };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let host = reg.host.as_str();
    let (_, _, app) = &apps[1];
    let original = wit(&tools, app);
    let o = |name: &str| out.path().join(name);
    let s = |p: PathBuf| p.to_str().unwrap().to_string();

    // weld -> registry -> skopeo -> an OCI layout: weld rebuilds the app from
    // the layout, with no weld annotation needed.
    ok(&at_registry(
        cache.path(),
        host,
        &["push", app.to_str().unwrap(), &format!("{host}/a/wt:1")],
    ));
    let layout = format!("oci:{}:wt", o("layout").display());
    let sk = Command::new(&skopeo)
        .args(["--insecure-policy", "copy", "--src-tls-verify=false"])
        .arg(format!("docker://{host}/a/wt:1"))
        .arg(&layout)
        .output()
        .unwrap();
    assert!(sk.status.success(), "skopeo: {}", stderr(&sk));
    ok(&weld_in(
        cache.path(),
        &["bundle", &layout, "-o", &s(o("bundled.wasm"))],
        &[],
    ));
    ok(&weld_in(
        cache.path(),
        &["pull", &layout, "-o", &s(o("pulled-layout.wasm"))],
        &[],
    ));
    ok(&at_registry(
        cache.path(),
        host,
        &["pull", &format!("{host}/a/wt:1"), "-o", &s(o("pulled.wasm"))],
    ));
    let bundled = std::fs::read(o("bundled.wasm")).unwrap();
    validate(&bundled);
    assert_eq!(bundled, std::fs::read(o("pulled-layout.wasm")).unwrap());
    assert_eq!(bundled, std::fs::read(o("pulled.wasm")).unwrap());
    assert_eq!(wit(&tools, &o("bundled.wasm")), original);
    check_artifact(&o("layout"), "wt");

    // weld split -> a store -> skopeo -> registry -> weld pull.
    ok(&weld_in(
        cache.path(),
        &[
            "split",
            &format!("wt={}", app.display()),
            "--store",
            &s(o("store")),
            "-o",
            &s(o("root.wasm")),
        ],
        &[],
    ));
    let sk = Command::new(&skopeo)
        .args(["--insecure-policy", "copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:wt", o("store").display()))
        .arg(format!("docker://{host}/b/wt:1"))
        .output()
        .unwrap();
    assert!(sk.status.success(), "skopeo: {}", stderr(&sk));
    ok(&at_registry(
        cache.path(),
        host,
        &["pull", &format!("{host}/b/wt:1"), "-o", &s(o("back.wasm"))],
    ));
    assert_eq!(wit(&tools, &o("back.wasm")), original);
    validate(&std::fs::read(o("back.wasm")).unwrap());
}

#[test]
fn one_layer_artifacts_push_and_pull_as_they_are() {
    let (Some(apps), Some(skopeo)) = (jco_paths(), skopeo()) else {
        return;
    };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let host = reg.host.as_str();
    let (_, _, app) = &apps[3];
    let bytes = std::fs::read(app).unwrap();
    // --bundled: one layer, the whole component, as wkg publishes it.
    ok(&at_registry(
        cache.path(),
        host,
        &[
            "push",
            app.to_str().unwrap(),
            &format!("{host}/one/wt:1"),
            "--bundled",
        ],
    ));
    let back = out.path().join("back.wasm");
    let store = out.path().join("store");
    ok(&at_registry(
        cache.path(),
        host,
        &[
            "pull",
            &format!("{host}/one/wt:1"),
            "-o",
            back.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        std::fs::read(&back).unwrap(),
        bytes,
        "a one-layer artifact pulls as the very component"
    );
    let dir = weld_linker::OciDir::open(&store).unwrap();
    let (_, m) = weld_linker::open_app(&dir, "wt").unwrap();
    assert_eq!(m.layers.len(), 1);
    // A one-layer artifact another tool pushed: written as an OCI layout by
    // the library, copied to the registry by skopeo, pulled by weld.
    let layout = out.path().join("layout");
    let oci = weld_linker::OciDir::open_or_create(&layout).unwrap();
    let (root, _) = weld_linker::BlobStore::put(&oci, &bytes).unwrap();
    weld_linker::record_roots(
        &oci,
        &[weld_linker::RootRecord {
            name: "wt".to_string(),
            root: (root, bytes.len() as u64),
            world: Some(weld_linker::World::of_component(&bytes).unwrap()),
            layers: Vec::new(),
            created: "2026-12-01T00:00:00Z".to_string(),
        }],
    )
    .unwrap();
    let sk = Command::new(&skopeo)
        .args(["--insecure-policy", "copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:wt", layout.display()))
        .arg(format!("docker://{host}/other/wt:2"))
        .output()
        .unwrap();
    assert!(sk.status.success(), "skopeo: {}", stderr(&sk));
    let back2 = out.path().join("back2.wasm");
    ok(&at_registry(
        cache.path(),
        host,
        &[
            "pull",
            &format!("{host}/other/wt:2"),
            "-o",
            back2.to_str().unwrap(),
        ],
    ));
    assert_eq!(std::fs::read(&back2).unwrap(), bytes);
}

#[test]
fn a_corrupt_or_missing_blob_in_the_registry_is_an_error_and_nothing_is_written() {
    let Some(apps) = jco_paths() else { return };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let host_owned = reg.host.clone();
    let host = host_owned.as_str();
    let (_, _, app) = &apps[3];
    ok(&at_registry(
        cache.path(),
        host,
        &["push", app.to_str().unwrap(), &format!("{host}/c/wt:1")],
    ));
    // The biggest layer, corrupted in the registry's storage (same length).
    let store = out.path().join("store");
    let probe = tempfile::tempdir().unwrap();
    ok(&at_registry(
        cache.path(),
        host,
        &[
            "pull",
            &format!("{host}/c/wt:1"),
            "-o",
            probe.path().join("x.wasm").to_str().unwrap(),
            "--split",
            "--store",
            probe.path().join("s").to_str().unwrap(),
        ],
    ));
    let probe_store = weld_linker::OciDir::open(&probe.path().join("s")).unwrap();
    let (_, m) = weld_linker::open_app(&probe_store, "wt").unwrap();
    let victim = m.layers.iter().max_by_key(|l| l.size).unwrap().digest;
    let hex = weld_format::names::hex(&victim);
    let data = reg.blob_data(&hex);
    let mut bytes = std::fs::read(&data).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&data, &bytes).unwrap();
    let target = out.path().join("app.wasm");
    std::fs::write(&target, b"the previous output").unwrap();
    let o = at_registry(
        cache.path(),
        host,
        &[
            "pull",
            &format!("{host}/c/wt:1"),
            "-o",
            target.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("registry {host}")) && err.contains("repository c/wt"),
        "{err}"
    );
    assert!(
        err.contains(&format!("sha256:{hex}")) && err.contains("corrupt"),
        "{err}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"the previous output");
    assert!(
        !store.join("blobs/sha256").join(&hex).exists(),
        "the corrupt blob reached the store"
    );
    let s = weld_linker::OciDir::open(&store).unwrap();
    assert!(
        s.tags().unwrap().is_empty(),
        "no manifest is tagged after a failed pull"
    );
    assert!(s.verify().unwrap().is_empty());

    // A manifest naming a blob the registry does not have.
    std::fs::remove_dir_all(data.parent().unwrap()).unwrap();
    let o = at_registry(
        cache.path(),
        host,
        &["pull", &format!("{host}/c/wt:1"), "-o", target.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("blob sha256:{hex}")) && err.contains("HTTP 404"),
        "{err}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"the previous output");

    // A missing tag, and a registry that is not there.
    let o = at_registry(
        cache.path(),
        host,
        &[
            "pull",
            &format!("{host}/c/wt:nope"),
            "-o",
            target.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert!(
        err.contains("manifest nope: HTTP 404") && err.contains("no such tag"),
        "{err}"
    );
    drop(reg);
    let o = at_registry(
        cache.path(),
        host,
        &["pull", &format!("{host}/c/wt:1"), "-o", target.to_str().unwrap()],
    );
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("weld: error: registry {host}, repository c/wt")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn wrong_credentials_are_refused_with_a_hint_and_right_ones_work() {
    let Some(apps) = jco_paths() else { return };
    let Some(reg) = Registry::start(&[("weld", "s3cret")]) else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let host = reg.host.as_str();
    let (_, _, app) = &apps[3];
    let target = format!("{host}/auth/wt:1");
    let push = |env: &[(&str, &str)]| {
        weld_in(
            cache.path(),
            &["push", app.to_str().unwrap(), &target, "--insecure", host],
            env,
        )
    };
    for env in [
        vec![],
        vec![
            ("WELD_REGISTRY_USER", "weld"),
            ("WELD_REGISTRY_PASSWORD", "wrong"),
        ],
    ] {
        let o = push(&env);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(
            err.contains("HTTP 401") && err.contains("check the credentials"),
            "{err}"
        );
        assert!(
            err.contains(&format!("registry {host}, repository auth/wt")),
            "{err}"
        );
    }
    ok(&push(&[
        ("WELD_REGISTRY_USER", "weld"),
        ("WELD_REGISTRY_PASSWORD", "s3cret"),
    ]));
    // The same credentials from a Docker config.
    let docker = tempfile::tempdir().unwrap();
    let auth = base64_of("weld:s3cret");
    std::fs::write(
        docker.path().join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    let back = cache.path().join("back.wasm");
    ok(&weld_in(
        cache.path(),
        &["pull", &target, "-o", back.to_str().unwrap(), "--insecure", host],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    ));
    validate(&std::fs::read(&back).unwrap());
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn a_push_killed_midway_leaves_whole_blobs_only_and_the_rerun_skips_them() {
    let Some(apps) = jco_paths() else { return };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let host = reg.host.as_str();
    let (_, _, app) = &apps[0];
    let layers = reg.repo_dir("kill/app").join("_layers/sha256");
    let tag = reg.repo_dir("kill/app").join("_manifests/tags/1");
    // Kill the push as soon as the registry has committed a first blob;
    // retry if it was too quick to catch.
    let mut caught = false;
    for _ in 0..10 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weld"))
            .args([
                "push",
                app.to_str().unwrap(),
                &format!("{host}/kill/app:1"),
                "--insecure",
                host,
                "--jobs",
                "1",
            ])
            .env("WELD_CACHE_DIR", cache.path())
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while std::fs::read_dir(&layers).map(|d| d.count()).unwrap_or(0) == 0
            && start.elapsed() < std::time::Duration::from_secs(30)
        {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        let _ = child.kill();
        let _ = child.wait();
        if !tag.exists() {
            caught = true;
            break;
        }
        // Too late: start over in a fresh repository state.
        std::fs::remove_dir_all(reg.repo_dir("kill")).unwrap();
    }
    assert!(caught, "could not stop a push midway in 10 tries");
    let committed = std::fs::read_dir(&layers).map(|d| d.count()).unwrap_or(0);
    assert!(committed >= 1);
    let err = ok(&at_registry(
        cache.path(),
        host,
        &["push", app.to_str().unwrap(), &format!("{host}/kill/app:1")],
    ));
    let (_, _, _, _, skipped) = push_stats(&err);
    assert!(
        skipped >= committed as u64,
        "the rerun skips the {committed} blobs already there: {err}"
    );
    let back = cache.path().join("back.wasm");
    ok(&at_registry(
        cache.path(),
        host,
        &[
            "pull",
            &format!("{host}/kill/app:1"),
            "-o",
            back.to_str().unwrap(),
        ],
    ));
    validate(&std::fs::read(&back).unwrap());
}

#[test]
fn a_reference_without_a_host_or_a_plain_http_host_not_named_is_refused() {
    let cache = tempfile::tempdir().unwrap();
    let o = weld_in(cache.path(), &["pull", "app:1", "-o", "x.wasm"], &[]);
    assert!(stderr(&o).contains("name the registry host"), "{}", stderr(&o));
    let Some(reg) = Registry::start(&[]) else { return };
    let o = weld_in(
        cache.path(),
        &["pull", &format!("{}/a/b:1", reg.host), "-o", "x.wasm"],
        &[],
    );
    let err = stderr(&o);
    assert!(err.contains(&format!("--insecure {}", reg.host)), "{err}");
}

#[test]
fn a_failing_registry_is_an_error_with_its_status() {
    let Some(apps) = jco_paths() else { return };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let host = reg.host.as_str();
    // The registry cannot store repositories: every write is a 500.
    let repos = reg.dir.path().join("data/docker/registry/v2/repositories");
    std::fs::create_dir_all(repos.parent().unwrap()).unwrap();
    std::fs::write(&repos, b"not a directory").unwrap();
    let (_, _, app) = &apps[3];
    let o = at_registry(
        cache.path(),
        host,
        &["push", app.to_str().unwrap(), &format!("{host}/x/y:1")],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("registry {host}, repository x/y")), "{err}");
    assert!(
        err.contains("HTTP 500") && err.contains("the registry failed"),
        "{err}"
    );
}

#[test]
fn the_library_pushes_from_memory_and_pulls_into_memory() {
    use weld_linker::MemoryStore;
    let Some(apps) = jco_paths() else { return };
    let Some(reg) = Registry::start(&[]) else { return };
    let (_, _, app) = &apps[1];
    let bytes = std::fs::read(app).unwrap();
    let source = MemoryStore::new();
    let s = weld_linker::split(&weld_linker::SplitOptions::default(), "app", &bytes, &source).unwrap();
    let record = s.record("app", &source, "2026-12-01T00:00:00Z").unwrap();
    let tags = weld_linker::record_roots(&source, &[record]).unwrap();
    let registry = weld_linker::Registry::new(weld_linker::RegistryOptions {
        insecure: vec![reg.host.clone()],
        ..Default::default()
    })
    .unwrap();
    let target = weld_linker::parse_reference(&format!("{}/lib/app:1", reg.host)).unwrap();
    let report = weld_linker::push(
        &Default::default(),
        &registry,
        &target,
        &source,
        &tags[0].manifest,
    )
    .unwrap();
    assert_eq!(
        report.blobs.len(),
        2 + s.layers().len(),
        "config, root and children"
    );
    assert!(report
        .blobs
        .iter()
        .all(|b| b.transfer == weld_linker::Transfer::Uploaded));
    assert_eq!(
        report.uploaded_bytes(),
        report.blobs.iter().map(|b| b.size).sum::<u64>() + report.manifest_size
    );
    let sink = MemoryStore::new();
    let pulled = weld_linker::pull(
        &weld_linker::PullOptions {
            name: "app".to_string(),
        },
        &registry,
        &target,
        &sink,
    )
    .unwrap();
    assert_eq!(
        pulled.tag.manifest, tags[0].manifest,
        "the manifest is pushed byte for byte"
    );
    assert_eq!(pulled.fetched.len(), report.blobs.len());
    let a = weld_linker::bundle_app(&Default::default(), &source, "app").unwrap();
    let b = weld_linker::bundle_app(&Default::default(), &sink, "app").unwrap();
    assert_eq!(a.bytes, b.bytes);
    // Pulled again into the same store: nothing is fetched.
    let again = weld_linker::pull(
        &weld_linker::PullOptions {
            name: "app".to_string(),
        },
        &registry,
        &target,
        &sink,
    )
    .unwrap();
    assert!(again.fetched.is_empty());
    assert_eq!(sink.digests().len(), source.digests().len());
}

/// Pulls of different apps into one store at once, all named by the same
/// repository (so each retags the one app name the others read): each
/// writes the app it pulled, never the one another pull tagged meanwhile.
#[test]
fn concurrent_pulls_into_one_store_each_write_the_app_they_pulled() {
    let (Some(apps), Some(tools)) = (jco_paths(), wasm_tools()) else {
        return;
    };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let host = reg.host.as_str();
    for (k, (_, _, path)) in apps.iter().enumerate() {
        ok(&at_registry(
            cache.path(),
            host,
            &["push", path.to_str().unwrap(), &format!("{host}/load/r0:t{k}")],
        ));
    }
    let out = tempfile::tempdir().unwrap();
    let store = out.path().join("store");
    let pulls: Vec<(usize, PathBuf, std::process::Child)> = (0..8)
        .map(|i| {
            let k = i % apps.len();
            let file = out.path().join(format!("pull{i}.wasm"));
            let child = spawn_at_registry(
                cache.path(),
                host,
                &[
                    "pull".into(),
                    format!("{host}/load/r0:t{k}"),
                    "-o".into(),
                    file.display().to_string(),
                    "--store".into(),
                    store.display().to_string(),
                ],
            );
            (k, file, child)
        })
        .collect();
    let want: Vec<String> = apps.iter().map(|(_, _, p)| wit(&tools, p)).collect();
    for (k, file, child) in pulls {
        let o = child.wait_with_output().unwrap();
        ok(&o);
        validate(&std::fs::read(&file).unwrap());
        assert_eq!(wit(&tools, &file), want[k], "pull of t{k} wrote another app");
    }
}

/// Eight `weld push` processes at once, of apps that share layers (the four
/// jco components and the componentize-py pair, two of them twice, into
/// other repositories), splitting into one local store; then every app
/// pulled by concurrent `weld pull`s into one fresh store. Every push and
/// pull succeeds, every pull writes its app, every blob the registry stores
/// hashes to its digest, and both stores verify clean.
#[test]
fn concurrent_pushes_and_pulls_of_apps_sharing_layers_stay_whole() {
    let (Some(jco), Some(tools)) = (jco_paths(), wasm_tools()) else {
        return;
    };
    let (Some(app), Some(layer)) = (real_binary("cpy-app"), real_binary("cpy-layer")) else {
        return;
    };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let host = reg.host.as_str();
    let mut apps: Vec<(String, PathBuf)> = jco
        .iter()
        .map(|(p, v, path)| (format!("{p}-{}", v.replace('.', "-")), path.clone()))
        .collect();
    apps.push(("cpy-app".into(), app));
    apps.push(("cpy-layer".into(), layer));
    // Two apps pushed twice, to other repositories, at the same time.
    let pushes: Vec<(String, PathBuf)> = apps
        .iter()
        .cloned()
        .chain([
            (format!("again-{}", apps[0].0), apps[0].1.clone()),
            ("again-cpy-app".to_string(), apps[4].1.clone()),
        ])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("push-store");
    let spawn = |args: Vec<String>| spawn_at_registry(cache.path(), host, &args);
    let children: Vec<_> = pushes
        .iter()
        .map(|(name, path)| {
            spawn(vec![
                "push".into(),
                path.display().to_string(),
                format!("{host}/load/{name}:1"),
                "--store".into(),
                store.display().to_string(),
            ])
        })
        .collect();
    for c in children {
        ok(&c.wait_with_output().unwrap());
    }
    // Every blob the registry stores is whole.
    let mut uploaded = reg.uploaded_digests();
    uploaded.sort();
    uploaded.dedup();
    assert!(!uploaded.is_empty());
    for hex in &uploaded {
        use sha2::Digest as _;
        let bytes = std::fs::read(reg.blob_data(hex)).unwrap();
        assert_eq!(weld_format::names::hex(&sha2::Sha256::digest(&bytes)), *hex);
    }
    // Pulled back at once into one fresh store, each under its own name.
    let pulled = dir.path().join("pull-store");
    let children: Vec<_> = pushes
        .iter()
        .map(|(name, _)| {
            let file = dir.path().join(format!("{name}.wasm"));
            let child = spawn(vec![
                "pull".into(),
                format!("{host}/load/{name}:1"),
                "-o".into(),
                file.display().to_string(),
                "--store".into(),
                pulled.display().to_string(),
                "--name".into(),
                name.clone(),
            ]);
            (file, child)
        })
        .collect();
    for ((file, child), (name, original)) in children.into_iter().zip(&pushes) {
        ok(&child.wait_with_output().unwrap());
        validate(&std::fs::read(&file).unwrap());
        assert_eq!(wit(&tools, &file), wit(&tools, original), "{name}");
    }
    for s in [&store, &pulled] {
        let v = weld_in(cache.path(), &["store", "verify", s.to_str().unwrap()], &[]);
        assert!(
            v.status.success(),
            "{}: {}{}",
            s.display(),
            stdout(&v),
            stderr(&v)
        );
    }
    // Every app is tagged in the pulled store: no tag was lost.
    let ls = weld_in(cache.path(), &["store", "ls", pulled.to_str().unwrap()], &[]);
    for (name, _) in &pushes {
        assert!(
            stdout(&ls).contains(name.as_str()),
            "{name} missing: {}",
            stdout(&ls)
        );
    }
}

/// The fault-injecting proxy (`tests/fault_proxy.py`) in front of `upstream`,
/// killed when dropped; its log of the faults it injected.
struct FaultProxy {
    child: std::process::Child,
    host: String,
}

impl FaultProxy {
    fn start(upstream: &str, seed: u64, rate: f64, kinds: &str) -> FaultProxy {
        let mut child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fault_proxy.py"))
            .args([upstream, &seed.to_string(), &rate.to_string(), "4", kinds])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the proxy");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        let port: u16 = line.trim().parse().expect("the proxy prints its port");
        FaultProxy {
            child,
            host: format!("127.0.0.1:{port}"),
        }
    }

    /// Stops the proxy; what it logged (one line per fault).
    fn faults(mut self) -> String {
        let _ = self.child.kill();
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut s);
        s
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pushes_and_pulls_through_a_faulty_network_retry_and_write_only_verified_blobs() {
    let (Some(apps), Some(tools)) = (jco_paths(), wasm_tools()) else {
        return;
    };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    // One connection in five: a 503, a reset or a clean cut at a random
    // byte, or a body stalled past weld's 2 s read timeout.
    let proxy = FaultProxy::start(&reg.host, 42, 0.2, "503,reset,truncate,stall");
    let p = proxy.host.clone();
    let quick = ["--timeout", "2"];
    for (prog, ver, path) in &apps {
        let mut args = vec!["push", path.to_str().unwrap()];
        let target = format!("{p}/faults/{prog}:{ver}");
        args.push(&target);
        args.extend(quick);
        // Within the retry limit, every push gets through.
        ok(&at_registry(cache.path(), &p, &args));
    }
    let store = work.path().join("store");
    for (prog, ver, path) in &apps {
        let out = work.path().join(format!("{prog}-{ver}.wasm"));
        let source = format!("{p}/faults/{prog}:{ver}");
        let mut args = vec![
            "pull",
            &source,
            "-o",
            out.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ];
        args.extend(quick);
        ok(&at_registry(cache.path(), &p, &args));
        validate(&std::fs::read(&out).unwrap());
        assert_eq!(wit(&tools, path), wit(&tools, &out), "{prog} {ver}");
    }
    let faults = proxy.faults();
    eprintln!("faults injected:\n{faults}");
    for kind in ["503", "reset after", "truncate after", "stall after"] {
        assert!(faults.contains(kind), "no `{kind}` fault was injected: {faults}");
    }
    // Only verified blobs were written: the store verifies clean, and so
    // does every blob in the registry's storage.
    let v = weld_in(cache.path(), &["store", "verify", store.to_str().unwrap()], &[]);
    assert!(v.status.success(), "{}{}", stdout(&v), stderr(&v));
    for d in reg.uploaded_digests() {
        let hex = d.trim_start_matches("sha256:");
        let data = std::fs::read(reg.blob_data(hex)).unwrap();
        assert_eq!(weld_format::names::hex(&weld_format::digest::sha256(&data)), hex);
    }
    // Without faults, a push again sends nothing but the manifest.
    for (prog, ver, path) in &apps {
        let target = format!("{}/faults/{prog}:{ver}", reg.host);
        let err = ok(&at_registry(
            cache.path(),
            &reg.host,
            &["push", path.to_str().unwrap(), &target],
        ));
        let (n, bytes, _, _, _) = push_stats(&err);
        assert_eq!((n, bytes), (0, 0), "{err}");
    }
}

#[test]
fn a_registry_that_keeps_failing_is_one_line_after_the_last_attempt() {
    let Some(apps) = jco_paths() else { return };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    // Every connection is answered 503.
    let proxy = FaultProxy::start(&reg.host, 7, 1.0, "503");
    let (prog, ver, path) = &apps[3];
    let target = format!("{}/dead/{prog}:{ver}", proxy.host);
    let started = std::time::Instant::now();
    let o = at_registry(
        cache.path(),
        &proxy.host,
        &[
            "push",
            path.to_str().unwrap(),
            &target,
            "--attempts",
            "3",
            "--timeout",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&format!("registry {}", proxy.host)), "{err}");
    assert!(err.contains("(gave up after 3 attempts)"), "{err}");
    eprintln!("gave up in {:.1?}: {err}", started.elapsed());
    // A pull that cannot get through writes nothing.
    let out = work.path().join("out.wasm");
    let o = at_registry(
        cache.path(),
        &proxy.host,
        &["pull", &target, "-o", out.to_str().unwrap(), "--attempts", "2"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
    drop(proxy);
}

#[test]
fn a_blob_cut_short_is_resumed_from_where_it_stopped() {
    let (Some(apps), Some(tools)) = (jco_paths(), wasm_tools()) else {
        return;
    };
    let Some(reg) = Registry::start(&[]) else { return };
    let cache = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (prog, ver, path) = &apps[1];
    let direct = format!("{}/resume/{prog}:{ver}", reg.host);
    ok(&at_registry(
        cache.path(),
        &reg.host,
        &["push", path.to_str().unwrap(), &direct],
    ));
    // Every blob's first GET is cut after 1500 bytes.
    let proxy = FaultProxy::start(&reg.host, 1, 0.0, "cutblob");
    let out = work.path().join("out.wasm");
    let source = format!("{}/resume/{prog}:{ver}", proxy.host);
    let store = work.path().join("store");
    ok(&at_registry(
        cache.path(),
        &proxy.host,
        &[
            "pull",
            &source,
            "-o",
            out.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ],
    ));
    assert_eq!(wit(&tools, path), wit(&tools, &out));
    let log = proxy.faults();
    let cuts = log.lines().filter(|l| l.contains("truncate after 1500")).count();
    let resumed = log.lines().filter(|l| l.contains(": range /v2/")).count();
    eprintln!("{cuts} blobs cut, {resumed} resumed:\n{log}");
    assert!(cuts >= 2, "{log}");
    // Each cut blob was asked again from where it stopped, not whole.
    assert_eq!(resumed, cuts, "{log}");
    let v = weld_in(cache.path(), &["store", "verify", store.to_str().unwrap()], &[]);
    assert!(v.status.success(), "{}", stderr(&v));
}
