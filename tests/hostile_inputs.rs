//! Inputs made to exhaust memory, time or the stack: each is refused with
//! one line, or handled, never a panic or a crash, and the peak memory of
//! the weld process (its `ru_maxrss`, read by Python's `resource` after it
//! exits) stays under a bound: 64 MiB plus a small multiple of the input's
//! size (stated per case).

mod common;
#[path = "common/registry.rs"]
#[allow(dead_code)]
mod harness;

use std::path::Path;
use std::process::Command;

use wasm_encoder::{
    CodeSection, CustomSection, DataCountSection, DataSection, Function, FunctionSection, IndirectNameMap,
    MemorySection, MemoryType, Module, NameMap, NameSection, TypeSection,
};

/// What a run did: exit code, stderr, peak memory in KiB.
struct Ran {
    code: Option<i32>,
    stderr: String,
    peak_kib: u64,
}

/// Runs `weld ARGS` as a child of Python, which reports its peak memory.
fn run(args: &[&str]) -> Option<Ran> {
    let script = "import resource, subprocess, sys\n\
                  r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n\
                  sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n\
                  sys.stderr.buffer.write(r.stderr)\n\
                  sys.exit(r.returncode if r.returncode >= 0 else 128 - r.returncode)\n";
    let o = match Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_weld"))
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            harness::missing(&format!("python3 (to read a child's peak memory): {e}"));
            return None;
        }
    };
    Some(Ran {
        code: o.status.code(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        peak_kib: String::from_utf8_lossy(&o.stdout).trim().parse().unwrap(),
    })
}

fn leb(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

const COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

/// A component nested `depth` components deep.
fn nested(depth: usize) -> Vec<u8> {
    let mut c = COMPONENT.to_vec();
    for _ in 0..depth {
        let mut outer = COMPONENT.to_vec();
        outer.push(4);
        outer.extend(leb(c.len() as u64));
        outer.extend(&c);
        c = outer;
    }
    c
}

/// A module of `n` empty functions, each named when `names`.
fn many_functions(n: u32, names: bool) -> Vec<u8> {
    let mut m = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instruction(&wasm_encoder::Instruction::End);
    for _ in 0..n {
        funcs.function(0);
        code.function(&body);
    }
    m.section(&types).section(&funcs).section(&code);
    if names {
        let mut map = NameMap::new();
        for i in 0..n {
            map.append(i, &format!("f{i}"));
        }
        let mut ns = NameSection::new();
        ns.functions(&map);
        ns.locals(&IndirectNameMap::new());
        m.section(&ns);
    }
    m.finish()
}

/// Checks a run: refused with one line (when `refused`) or done, and its
/// peak memory under 64 MiB + `factor` x the input's size.
fn bounded(what: &str, input: &Path, args: &[&str], refused: bool, factor: u64) {
    let Some(r) = run(args) else { return };
    let size = std::fs::metadata(input).unwrap().len();
    let bound_kib = 64 * 1024 + factor * size / 1024;
    eprintln!(
        "{what}: {} bytes in, exit {:?}, peak {} KiB (bound {bound_kib})",
        size, r.code, r.peak_kib
    );
    match refused {
        true => {
            assert_eq!(r.code, Some(1), "{what}: {}", r.stderr);
            assert_eq!(r.stderr.lines().count(), 1, "{what}: {}", r.stderr);
            assert!(r.stderr.starts_with("weld: error: "), "{what}: {}", r.stderr);
        }
        false => assert_eq!(r.code, Some(0), "{what}: {}", r.stderr),
    }
    assert!(
        r.peak_kib <= bound_kib,
        "{what}: peak {} KiB over {bound_kib}",
        r.peak_kib
    );
}

#[test]
fn hostile_inputs_are_refused_or_handled_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = s(&path("out.wasm"));
    let store = s(&path("store"));

    // A nested module whose size claims 1 GiB, in a 20-byte component.
    let mut claim = COMPONENT.to_vec();
    claim.push(1);
    claim.extend(leb(1 << 30));
    claim.extend(b"\0asm\x01\x00\x00\x00");
    std::fs::write(path("claim.wasm"), &claim).unwrap();
    let c = s(&path("claim.wasm"));
    for args in [
        vec!["inspect", &c],
        vec!["flatten", &c, "-o", &out],
        vec!["split", &c, "--store", &store, "-o", &out],
        vec!["compose", &c, "-o", &out],
    ] {
        bounded(
            &format!("1 GiB claim: {}", args[0]),
            &path("claim.wasm"),
            &args,
            true,
            0,
        );
    }

    // Components nested 10,000 deep: a depth limit, not a stack overflow.
    std::fs::write(path("deep.wasm"), nested(10_000)).unwrap();
    let d = s(&path("deep.wasm"));
    for args in [
        vec!["inspect", &d],
        vec!["flatten", &d, "-o", &out],
        vec!["split", &d, "--store", &store, "-o", &out],
        vec!["compose", &d, "-o", &out],
    ] {
        bounded(
            &format!("10,000 deep: {}", args[0]),
            &path("deep.wasm"),
            &args,
            true,
            4,
        );
    }

    // A million empty functions, then the same named: fused (linear work,
    // memory a small multiple of the input).
    std::fs::write(path("many.wasm"), many_functions(1_000_000, false)).unwrap();
    let m = s(&path("many.wasm"));
    // (Measured: 196 MB for the 4 MB module, about 200 bytes of plan per
    // function.)
    bounded(
        "10^6 functions: fuse",
        &path("many.wasm"),
        &["fuse", &m, "-o", &out, "--keep-unused"],
        false,
        50,
    );
    std::fs::write(path("named.wasm"), many_functions(1_000_000, true)).unwrap();
    let n = s(&path("named.wasm"));
    bounded(
        "10^6 names: fuse",
        &path("named.wasm"),
        &["fuse", &n, "-o", &out, "--keep-unused"],
        false,
        50,
    );

    // A data count that lies (a billion segments, one present).
    let mut lie = Module::new();
    let mut mem = MemorySection::new();
    mem.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut data = DataSection::new();
    data.active(0, &wasm_encoder::ConstExpr::i32_const(0), b"x".iter().copied());
    lie.section(&mem)
        .section(&DataCountSection { count: 1_000_000_000 })
        .section(&data)
        .section(&CustomSection {
            name: "note".into(),
            data: b"the data count lies".into(),
        });
    std::fs::write(path("lie.wasm"), lie.finish()).unwrap();
    let l = s(&path("lie.wasm"));
    bounded(
        "lying data count: fuse",
        &path("lie.wasm"),
        &["fuse", &l, "-o", &out],
        true,
        0,
    );
}
