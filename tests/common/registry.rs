//! A real OCI registry for tests: Debian's `docker-registry` (distribution
//! 2.8) on 127.0.0.1, on a free port, its storage and log in a temp dir,
//! stopped when dropped. And the external tools the registry tests use
//! (`skopeo`, `wasm-tools`), found the same way: missing under CI is a
//! failure, elsewhere a printed skip.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// The tool finders, shared with the runtime tests' crate.
#[path = "tools.rs"]
mod tools;
#[allow(unused_imports)]
pub use tools::{missing, tool};

/// `wasm-tools`, where benches/compare and .ci/run install it.
pub fn wasm_tools() -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    tool(
        "wasm-tools",
        "WELD_WASM_TOOLS",
        &[home.join(".cache/weld/tools/cargo/bin/wasm-tools")],
    )
}

/// `skopeo` (Debian's package).
pub fn skopeo() -> Option<PathBuf> {
    tool("skopeo", "WELD_SKOPEO", &[PathBuf::from("/usr/bin/skopeo")])
}

/// A running registry.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub host: String,
    /// Its temp dir: `data/` is the storage, `log` the log.
    pub dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry; with `users`, it asks for HTTP basic auth
    /// (htpasswd, bcrypt).
    pub fn start(users: &[(&str, &str)]) -> Option<Registry> {
        let bin = tool(
            "docker-registry",
            "WELD_DOCKER_REGISTRY",
            &[PathBuf::from("/usr/bin/docker-registry")],
        )?;
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        if !users.is_empty() {
            let lines: String = users
                .iter()
                .map(|(u, p)| format!("{u}:{}\n", bcrypt::hash(p, 4).unwrap()))
                .collect();
            std::fs::write(dir.path().join("htpasswd"), lines).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: weld-test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(&bin)
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: cannot start: {e}", bin.display()));
        let mut reg = Registry { child, host, dir };
        let start = Instant::now();
        while std::net::TcpStream::connect(&reg.host).is_err() {
            if let Ok(Some(status)) = reg.child.try_wait() {
                panic!("docker-registry exited with {status}: {}", reg.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "docker-registry did not start: {}",
                reg.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(reg)
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The storage's data file of blob `hex`.
    pub fn blob_data(&self, hex: &str) -> PathBuf {
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The repository's directory in the storage.
    pub fn repo_dir(&self, repo: &str) -> PathBuf {
        self.dir
            .path()
            .join("data/docker/registry/v2/repositories")
            .join(repo)
    }

    /// Every blob digest the access log shows uploaded, with repetitions.
    pub fn uploaded_digests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("\"PUT /v2/") && l.contains("HTTP/1.1\" 201"))
            .filter_map(|l| l.split("digest=sha256%3A").nth(1))
            .map(|rest| rest.chars().take(64).collect())
            .collect()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
