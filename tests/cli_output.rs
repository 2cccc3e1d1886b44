//! The output conventions of every command that writes wasm (`fuse`,
//! `link`, `flatten`, `compose`, `bundle`, `pull`): no `-o` or `-o -` is
//! standard output, refused on a terminal for binary; `-t`/`--wat` prints
//! the text format; side outputs go to files (or to standard output when
//! the module goes to a file); `-v` sums up a run on stderr and `--quiet`
//! silences warnings; a closed pipe ends quietly. The terminal is a real
//! pseudo-terminal (Python's `pty`).

mod common;
#[path = "common/registry.rs"]
#[allow(dead_code)]
mod harness;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{demo_set, root, stderr, weld};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_weld")
}

/// `weld ARGS` with its standard output as bytes.
fn stdout_bytes(args: &[&str]) -> Vec<u8> {
    let o = weld(args);
    assert!(o.status.success(), "weld {args:?}: {}", stderr(&o));
    o.stdout
}

fn diamond() -> Vec<String> {
    demo_set("diamond")
}

fn args<'a>(head: &[&'a str], inputs: &'a [String], tail: &[&'a str]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.extend(inputs.iter().map(String::as_str));
    v.extend(tail);
    v
}

#[test]
fn no_output_and_dash_write_the_same_bytes_as_a_file() {
    let inputs = diamond();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("out.wasm");
    let f = file.to_str().unwrap();
    let none = stdout_bytes(&args(&["fuse"], &inputs, &[]));
    let dash = stdout_bytes(&args(&["fuse"], &inputs, &["-o", "-"]));
    let o = weld(&args(&["fuse"], &inputs, &["-o", f]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        o.stdout.is_empty(),
        "nothing on stdout when the module goes to a file"
    );
    let written = std::fs::read(&file).unwrap();
    assert!(!none.is_empty() && none == dash && dash == written);
    assert!(!Path::new("-").exists(), "-o - wrote a file named -");
    wasmparser::Validator::new().validate_all(&none).unwrap();
}

#[test]
fn standard_output_pipes_into_wasm_tools_validate() {
    let Some(tools) = harness::wasm_tools() else {
        return;
    };
    let inputs = diamond();
    let mut w = Command::new(bin())
        .args(args(&["fuse"], &inputs, &[]))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let v = Command::new(tools)
        .args(["validate", "-"])
        .stdin(w.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(w.wait().unwrap().success());
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

#[test]
fn text_output_parses_back_to_the_same_module() {
    let Some(tools) = harness::wasm_tools() else {
        return;
    };
    let inputs = diamond();
    let text = stdout_bytes(&args(&["fuse"], &inputs, &["-t"]));
    let binary = stdout_bytes(&args(&["fuse"], &inputs, &[]));
    assert!(text.starts_with(b"(module"), "{}", String::from_utf8_lossy(&text));
    let tmp = tempfile::tempdir().unwrap();
    let wat = tmp.path().join("out.wat");
    std::fs::write(&wat, &text).unwrap();
    let back = tmp.path().join("back.wasm");
    let o = Command::new(tools)
        .arg("parse")
        .arg(&wat)
        .arg("-o")
        .arg(&back)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The same module: printed again, the same text.
    let again = wasmprinter::print_bytes(std::fs::read(&back).unwrap()).unwrap();
    let printed = wasmprinter::print_bytes(&binary).unwrap();
    assert_eq!(again, printed);
    // -t with -o writes the text to the file, atomically.
    let file = tmp.path().join("file.wat");
    let o = weld(&args(
        &["fuse"],
        &inputs,
        &["--wat", "-o", file.to_str().unwrap()],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&file).unwrap(), text);
}

/// Runs `weld ARGS` on a pseudo-terminal: what it printed and its status.
fn on_terminal(args: &[&str]) -> Option<(String, i32)> {
    let script = r#"
import os, pty, sys
out = []
def read(fd):
    data = os.read(fd, 1024)
    out.append(data)
    return data
status = pty.spawn(sys.argv[1:], read)
sys.stdout.write(b"".join(out).decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let o = match Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(bin())
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            harness::missing(&format!("python3 (for a pseudo-terminal): {e}"));
            return None;
        }
    };
    Some((
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.code().unwrap_or(-1),
    ))
}

#[test]
fn binary_to_a_terminal_is_refused_with_a_hint_and_text_is_not() {
    let inputs = diamond();
    let Some((said, code)) = on_terminal(&args(&["fuse"], &inputs, &[])) else {
        return;
    };
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("refusing to write binary WebAssembly to a terminal: pass -t"),
        "{said}"
    );
    assert!(!said.contains("\0asm"), "binary reached the terminal: {said:?}");
    let (said, code) = on_terminal(&args(&["fuse"], &inputs, &["-t"])).unwrap();
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("(module"), "{said}");
}

#[test]
fn every_wasm_writing_command_takes_the_same_conventions() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |n: &str| tmp.path().join(n).display().to_string();
    let case = |rel: &str| root().join("tests/cases").join(rel).display().to_string();
    // flatten and compose: stdout equals the file; text is text.
    let flat = case("flatten/shim-bypassed/c.wat");
    let file = t("flat.wasm");
    assert!(weld(&["flatten", &flat, "-o", &file]).status.success());
    assert_eq!(stdout_bytes(&["flatten", &flat]), std::fs::read(&file).unwrap());
    assert!(stdout_bytes(&["flatten", &flat, "-t"]).starts_with(b"(component"));
    let demo = |f: &str| root().join("corpus/demo/compose").join(f).display().to_string();
    let (app, greeter, hello) = (demo("app.wat"), demo("greeter.wat"), demo("hello.wat"));
    let comps = [app.as_str(), "--plug", &greeter, "--plug", &hello];
    let file = t("composed.wasm");
    let mut to_file = vec!["compose"];
    to_file.extend(comps);
    to_file.extend(["-o", &file]);
    let o = weld(&to_file);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut to_dash = vec!["compose"];
    to_dash.extend(comps);
    to_dash.extend(["-o", "-"]);
    assert_eq!(stdout_bytes(&to_dash), std::fs::read(&file).unwrap());
    // bundle: its report line moves to stderr when the component takes
    // standard output.
    let store = t("store");
    let root_file = t("root.wasm");
    let o = weld(&[
        "split",
        &file,
        "--store",
        &store,
        "-o",
        &root_file,
        "--min-size",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = weld(&["bundle", &root_file, "--store", &store]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        o.stdout.starts_with(b"\0asm"),
        "bundle wrote its report into the component"
    );
    assert!(stderr(&o).contains("blobs inlined"), "{}", stderr(&o));
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&o.stdout)
        .unwrap();
}

#[test]
fn side_outputs_never_share_standard_output_with_the_module() {
    let inputs = diamond();
    let tmp = tempfile::tempdir().unwrap();
    let o = weld(&args(&["fuse"], &inputs, &["--map", "-"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--map -: standard output is the module's"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    // With the module in a file, the map may take standard output.
    let file = tmp.path().join("out.wasm");
    let o = weld(&args(
        &["fuse"],
        &inputs,
        &["-o", file.to_str().unwrap(), "--map", "-"],
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let map: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(map["order"].is_array(), "{map}");
}

#[test]
fn verbose_sums_up_and_quiet_silences_warnings() {
    let inputs = diamond();
    let o = weld(&args(&["fuse"], &inputs, &["-v", "-o", "-"]));
    assert!(o.status.success());
    let e = stderr(&o);
    assert!(
        e.starts_with("weld fuse: ") && e.contains(&format!("{} bytes to stdout in ", o.stdout.len())),
        "{e}"
    );
    // The global flag before the command names the command all the same.
    let o = weld(&args(&["-v", "fuse"], &inputs, &["-o", "-"]));
    assert!(stderr(&o).starts_with("weld fuse: "), "{}", stderr(&o));
    assert!(
        weld(&args(&["fuse"], &inputs, &[])).stderr.is_empty(),
        "quiet by default"
    );
    // flatten --partial warns about the group it leaves; --quiet does not.
    let c = root()
        .join("tests/cases/flatten/partial/c.wat")
        .display()
        .to_string();
    let loud = weld(&["flatten", &c, "--partial"]);
    assert!(stderr(&loud).contains("weld: warning: "), "{}", stderr(&loud));
    let quiet = weld(&["--quiet", "flatten", &c, "--partial"]);
    assert!(
        quiet.status.success() && quiet.stderr.is_empty(),
        "{}",
        stderr(&quiet)
    );
    assert_eq!(loud.stdout, quiet.stdout);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // A module whose text is far larger than a pipe's buffer.
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.wat");
    let funcs: String = (0..5000)
        .map(|i| format!("(func (export \"f{i}\") (result i32) i32.const {i})\n"))
        .collect();
    std::fs::write(&big, format!("(module {funcs})")).unwrap();
    let mut child = Command::new(bin())
        .args(["fuse", big.to_str().unwrap(), "-t"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(err.is_empty(), "a closed pipe printed: {err}");
    // The write saw the closed pipe: the status a shell gives SIGPIPE.
    assert_eq!(status.code(), Some(141), "{status:?}");
}
