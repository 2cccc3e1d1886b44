//! A disk that fills up while weld writes: the output directory and a
//! store on a tiny tmpfs (mounting one needs root, which CI has; elsewhere
//! the test is skipped with a printed reason). Every command fails with one
//! line naming the file, the previous output stays as it was, no temporary
//! file is left, and a store that existed before still verifies clean.

mod common;
#[path = "common/registry.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{demo_set, real_binary, stderr, weld};

/// A tmpfs of `kib` KiB, unmounted when dropped.
struct Tiny {
    dir: tempfile::TempDir,
}

impl Tiny {
    fn mount(kib: u32) -> Option<Tiny> {
        let dir = tempfile::tempdir().unwrap();
        let root = Command::new("id").arg("-u").output().ok().map(|o| o.stdout) == Some(b"0\n".to_vec());
        if !root {
            harness::missing("mounting a tiny tmpfs needs root");
            return None;
        }
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(dir.path())
            .output()
            .ok()?;
        if !o.status.success() {
            harness::missing(&format!(
                "mount tmpfs: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
            return None;
        }
        Some(Tiny { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Fills what is left of the file system.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.path("fill")).unwrap();
        let block = vec![0u8; 4096];
        while std::io::Write::write_all(&mut f, &block).is_ok() {}
    }

    /// Everything in it but `fill`, recursively, as (path, size).
    fn files(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|n| n != "fill") {
                    let rel = p.strip_prefix(self.dir.path()).unwrap().display().to_string();
                    out.push((rel, e.metadata().unwrap().len()));
                }
            }
        }
        out.sort();
        out
    }
}

impl Drop for Tiny {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// `weld ARGS` fails with one line that names `file` and the full disk.
fn fails_naming(args: &[&str], file: &Path) {
    let o = weld(args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "weld {args:?} on a full disk: {}",
        stderr(&o)
    );
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains(&*file.to_string_lossy()) && e.contains("No space left on device"),
        "weld {args:?}: {e}"
    );
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_what_was_there() {
    let Some(app) = real_binary("jco-1.0.3-wasm-tools") else {
        return;
    };
    let Some(tiny) = Tiny::mount(256) else { return };
    let out = tiny.path("out.wasm");
    let o = out.to_str().unwrap();
    let diamond = demo_set("diamond");
    // A first output and a store, written while there is room.
    let mut fuse: Vec<&str> = vec!["fuse"];
    fuse.extend(diamond.iter().map(String::as_str));
    fuse.extend(["-o", o]);
    assert!(weld(&fuse).status.success());
    let previous = std::fs::read(&out).unwrap();
    let store = tiny.path("store");
    let small = demo_set("components");
    let root = tiny.path("root.wasm");
    let o2 = weld(&[
        "split",
        &small[0],
        "--store",
        store.to_str().unwrap(),
        "-o",
        root.to_str().unwrap(),
        "--min-size",
        "0",
    ]);
    assert!(o2.status.success(), "{}", stderr(&o2));
    tiny.fill();
    let before = tiny.files();

    // Outputs: fuse, flatten, compose, a pull from an OCI layout.
    fails_naming(&fuse, &out);
    let app = app.to_str().unwrap();
    fails_naming(&["flatten", app, "-o", o], &out);
    let compose: Vec<String> = ["app.wat", "greeter.wat", "hello.wat"]
        .iter()
        .map(|f| {
            common::root()
                .join("corpus/demo/compose")
                .join(f)
                .display()
                .to_string()
        })
        .collect();
    fails_naming(
        &[
            "compose",
            &compose[0],
            "--plug",
            &compose[1],
            "--plug",
            &compose[2],
            "-o",
            o,
        ],
        &out,
    );
    // A split of a bigger app into the existing store: its blobs do not fit.
    let o3 = weld(&[
        "split",
        app,
        "--store",
        store.to_str().unwrap(),
        "-o",
        o,
        "--min-size",
        "0",
    ]);
    assert_eq!(o3.status.code(), Some(1), "{}", stderr(&o3));
    assert_eq!(stderr(&o3).lines().count(), 1, "{}", stderr(&o3));
    assert!(stderr(&o3).contains("No space left on device"), "{}", stderr(&o3));

    // Nothing changed: the previous output, the store, no temporary file.
    assert_eq!(std::fs::read(&out).unwrap(), previous);
    assert_eq!(tiny.files(), before, "files appeared or changed on the full disk");
    let v = weld(&["store", "verify", store.to_str().unwrap()]);
    assert!(
        v.status.success(),
        "the store no longer verifies: {}{}",
        common::stdout(&v),
        stderr(&v)
    );
    let o4 = weld(&["pull", &format!("oci:{}", store.display()), "-o", o]);
    assert_eq!(o4.status.code(), Some(1), "{}", stderr(&o4));
    assert_eq!(std::fs::read(&out).unwrap(), previous);
}
