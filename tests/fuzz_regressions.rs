//! Replays every input under `fuzz/regressions/<target>/` through its fuzz
//! target, so each crash found stays fixed, and runs every target on fixed
//! seeds so the targets do not rot between fuzzing runs.
//!
//! A target returns whether weld ran on its input ([`targets::Outcome`]); a
//! seed that runs out of bytes, or is not the kind of input the target
//! wants, stops before weld and tests nothing. Each test counts the seeds
//! that reached weld and fails under a floor, so a target whose seeds all
//! stop early (after a change of the generator, of wasm-smith, of the seeds)
//! fails instead of passing having tested nothing.

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;
// The wac target's packages (`crate::wac_packages` there).
#[path = "common/wac_packages.rs"]
mod wac_packages;
// The differential run of the fuse target (`crate::exec` there).
#[path = "common/exec.rs"]
#[allow(dead_code)]
mod exec;

use std::collections::BTreeMap;
use std::path::Path;

use targets::Outcome;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name() != ".gitkeep")
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A deterministic pseudo-random byte stream (xorshift).
struct Xorshift(u64);

impl Xorshift {
    fn new() -> Xorshift {
        Xorshift(0x2545_f491_4f6c_dd1d)
    }

    fn byte(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as u8
    }

    /// A number below `n` (`n` > 0; slightly biased, which does not matter
    /// for choosing seeds).
    fn below(&mut self, n: usize) -> usize {
        let x = u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()]);
        x as usize % n
    }
}

/// `n` pseudo-random seeds of `len` bytes.
fn seeds(n: usize, len: usize) -> Vec<Vec<u8>> {
    let mut rng = Xorshift::new();
    (0..n).map(|_| (0..len).map(|_| rng.byte()).collect()).collect()
}

/// The runs of one target over its seeds: how many reached weld, and why
/// the others stopped.
struct Tally {
    target: &'static str,
    runs: usize,
    reached: usize,
    stopped: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn new(target: &'static str) -> Tally {
        Tally {
            target,
            runs: 0,
            reached: 0,
            stopped: BTreeMap::new(),
        }
    }

    fn add(&mut self, outcome: Outcome) {
        self.runs += 1;
        match outcome {
            Outcome::Reached => self.reached += 1,
            Outcome::Stopped(why) => *self.stopped.entry(why).or_default() += 1,
        }
    }

    /// Prints the count, then fails unless at least `floor` seeds reached
    /// weld.
    fn assert_reached(&self, floor: usize) {
        let stopped: Vec<String> = self.stopped.iter().map(|(why, n)| format!("{n} {why}")).collect();
        let summary = format!(
            "{}: {} of {} seeds reached weld (floor {floor}); stopped before: {}",
            self.target,
            self.reached,
            self.runs,
            if stopped.is_empty() {
                "none".to_string()
            } else {
                stopped.join(", ")
            }
        );
        eprintln!("{summary}");
        assert!(self.reached >= floor, "too few seeds reach weld: {summary}");
    }
}

/// Every `.wat` file under `corpus/demo`, as a binary, sorted by path.
fn demo_binaries() -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/demo");
    let mut files = Vec::new();
    for set in std::fs::read_dir(&root).unwrap() {
        let set = set.unwrap().path();
        if !set.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&set).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "wat") {
                files.push(f);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let name = f.strip_prefix(&root).unwrap().display().to_string();
            let bytes = wat::parse_file(&f).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, bytes)
        })
        .collect()
}

#[test]
fn load_survey_regressions_and_smoke() {
    for (name, data) in inputs("load_survey") {
        eprintln!("replaying load_survey/{name}: {:?}", targets::load_survey(&data));
    }
    let mut tally = Tally::new("load_survey");
    // Random bytes after a module's or a component's header: weld loads
    // them, and survey (and every command after it) must refuse them.
    for (i, mut s) in seeds(64, 512).into_iter().enumerate() {
        let header: &[u8] = if i % 2 == 0 {
            b"\0asm\x01\0\0\0"
        } else {
            b"\0asm\x0d\0\x01\0"
        };
        s[..8].copy_from_slice(header);
        tally.add(targets::load_survey(&s));
    }
    // Valid modules too: a demo input cut at every 7th byte (cuts inside the
    // 8-byte header do not load).
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/demo/tables/app.wat");
    let bytes = wat::parse_file(demo).unwrap();
    for cut in (0..=bytes.len()).step_by(7) {
        tally.add(targets::load_survey(&bytes[..cut]));
    }
    // Every demo input (modules and components) with four bytes after the
    // header replaced, three times over: malformed deep inside a valid file.
    let mut rng = Xorshift::new();
    for (_, bytes) in demo_binaries() {
        for _ in 0..3 {
            let mut m = bytes.clone();
            for _ in 0..4 {
                let at = 8 + rng.below(m.len() - 8);
                m[at] = rng.byte();
            }
            tally.add(targets::load_survey(&m));
        }
    }
    // Today 225 of 227 load: the 64 headed seeds, the 132 mutants (44 demo
    // inputs) and 29 of the 31 cuts (the two inside the header do not).
    // Random bytes without a header, which these seeds were before, loaded
    // 0 times in 64. The floor leaves about a tenth for changes to the demo
    // set or the loader, not for a family of seeds that stops.
    tally.assert_reached(200);
}

#[test]
fn fuse_regressions_and_smoke() {
    for (name, data) in inputs("fuse") {
        let outcome = targets::fuse(&mut arbitrary::Unstructured::new(&data));
        eprintln!("replaying fuse/{name}: {outcome:?}");
    }
    let mut tally = Tally::new("fuse");
    for s in seeds(40, 4096) {
        tally.add(targets::fuse(&mut arbitrary::Unstructured::new(&s)));
    }
    // Today all 40 reach weld: 4 KiB is enough for wasm-smith's modules at
    // the target's limits. The floor (four in five) leaves room for a
    // wasm-smith that reads more bytes per module.
    tally.assert_reached(32);
}

#[test]
fn names_regressions_and_smoke() {
    for (name, data) in inputs("names") {
        eprintln!("replaying names/{name}: {:?}", targets::names(&data));
    }
    let mut tally = Tally::new("names");
    // Strings over the characters names are made of, so that some parse:
    // random bytes are almost never UTF-8 (none of 200 such seeds was) and
    // stop before weld.
    const CHARS: &[u8] = b"abcxyz:/@.-_+0129\nsha256-";
    for s in seeds(200, 40) {
        let text: Vec<u8> = s.iter().map(|b| CHARS[*b as usize % CHARS.len()]).collect();
        tally.add(targets::names(&text));
    }
    for pair in [
        "a:b/c@0.2.0\na:b/c@0.2.3",
        "a:b/c@1.0.0\na:b/c@2.0.0",
        "x\nx",
        "sha256-00\nsha256:00",
    ] {
        tally.add(targets::names(pair.as_bytes()));
    }
    // Every seed is ASCII, so every one reaches weld: no margin is needed.
    tally.assert_reached(204);
}

#[test]
fn split_bundle_regressions_and_smoke() {
    for (name, data) in inputs("split_bundle") {
        let outcome = targets::split_bundle(&mut arbitrary::Unstructured::new(&data));
        eprintln!("replaying split_bundle/{name}: {outcome:?}");
    }
    let mut tally = Tally::new("split_bundle");
    for s in seeds(64, 4096) {
        tally.add(targets::split_bundle(&mut arbitrary::Unstructured::new(&s)));
    }
    // Today 51 of 64 reach weld; the other 13 generate a component that does
    // not validate. The floor leaves about a fifth for a wasm-smith whose
    // modules fail more often.
    tally.assert_reached(40);
}

#[test]
fn compose_regressions_and_smoke() {
    for (name, data) in inputs("compose") {
        let outcome = targets::compose(&mut arbitrary::Unstructured::new(&data));
        eprintln!("replaying compose/{name}: {outcome:?}");
    }
    let mut tally = Tally::new("compose");
    for s in seeds(120, 1024) {
        tally.add(targets::compose(&mut arbitrary::Unstructured::new(&s)));
    }
    // Today all 120 reach weld: a set takes far fewer than 1 KiB. The floor
    // (nine in ten) leaves room for a generator that reads more.
    tally.assert_reached(108);
}

#[test]
fn dwarf_regressions_and_smoke() {
    for (name, data) in inputs("dwarf") {
        let outcome = targets::dwarf(&mut arbitrary::Unstructured::new(&data));
        eprintln!("replaying dwarf/{name}: {outcome:?}");
    }
    let mut tally = Tally::new("dwarf");
    for s in seeds(40, 4096) {
        tally.add(targets::dwarf(&mut arbitrary::Unstructured::new(&s)));
    }
    // Today all 40 reach weld (the first module always defines a function).
    tally.assert_reached(36);
}

#[test]
fn wac_regressions_and_smoke() {
    for (name, data) in inputs("wac") {
        let outcome = targets::wac(&mut arbitrary::Unstructured::new(&data));
        eprintln!("replaying wac/{name}: {outcome:?}");
    }
    let mut tally = Tally::new("wac");
    for s in seeds(200, 256) {
        tally.add(targets::wac(&mut arbitrary::Unstructured::new(&s)));
    }
    // A document takes well under 256 bytes: all 200 reach weld today.
    tally.assert_reached(180);
    let composed = targets::WAC_COMPOSED.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("wac: {composed} of 200 documents composed");
    assert!(
        composed >= 20,
        "only {composed} of 200 documents composed: the generator only makes errors"
    );
}

#[test]
fn size_map_regressions_and_smoke() {
    for (name, data) in inputs("size_map") {
        eprintln!("replaying size_map/{name}: {:?}", targets::size_map(&data));
    }
    // The seeds the fuzzer starts from (`fuzz/seeds/size_map/`): small
    // components.
    let seeds_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/size_map");
    for e in std::fs::read_dir(seeds_dir).unwrap().flatten() {
        let data = std::fs::read(e.path()).unwrap();
        assert_eq!(targets::size_map(&data), targets::Outcome::Reached);
    }
    let mut tally = Tally::new("size_map");
    // Every demo input, whole, cut at every 11th byte, and with four bytes
    // replaced three times over; random bytes behind either header.
    let mut rng = Xorshift::new();
    for (_, bytes) in demo_binaries() {
        tally.add(targets::size_map(&bytes));
        for cut in (8..bytes.len()).step_by(11) {
            tally.add(targets::size_map(&bytes[..cut]));
        }
        for _ in 0..3 {
            let mut m = bytes.clone();
            for _ in 0..4 {
                let at = 8 + rng.below(m.len() - 8);
                m[at] = rng.byte();
            }
            tally.add(targets::size_map(&m));
        }
    }
    for s in seeds(32, 256) {
        tally.add(targets::size_map(&s));
    }
    // Every input reaches size: there is nothing it refuses.
    tally.assert_reached(200);
}
