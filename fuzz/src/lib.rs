//! weld's fuzz targets; see `targets.rs`. `exec` (shared with the tests)
//! runs modules in wasmi for the differential checks; [`tally`] counts, in a
//! libFuzzer run, the executions that reached weld.

#[path = "../../tests/common/exec.rs"]
pub mod exec;
pub mod targets;
/// The packages the wac target's documents name (shared with the WAC tests).
#[path = "../../tests/common/wac_packages.rs"]
pub mod wac_packages;

use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::Corpus;
use targets::Outcome;

/// The executions of this process, and those that reached weld. Counters
/// of the fuzzing process only, which runs one target; weld's libraries
/// keep no such state.
static RUNS: AtomicU64 = AtomicU64::new(0);
static REACHED: AtomicU64 = AtomicU64::new(0);

/// Counts one execution of a target. Whenever the number of executions is a
/// power of two or a multiple of 10,000, prints
/// `weld-fuzz: reached weld on R of N runs` on stderr; `scripts/fuzz-smoke`
/// checks the last such line against a floor. It cannot wait for the end of
/// the run: libFuzzer ends a timed run with `exit`, which runs no Rust code.
///
/// An input that stopped before weld ran tests nothing of weld, so libFuzzer
/// is told not to keep it in the corpus.
pub fn tally(outcome: Outcome) -> Corpus {
    let hit = u64::from(outcome == Outcome::Reached);
    let reached = REACHED.fetch_add(hit, Ordering::Relaxed) + hit;
    let runs = RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    if runs.is_power_of_two() || runs.is_multiple_of(10_000) {
        eprintln!("weld-fuzz: reached weld on {reached} of {runs} runs");
    }
    match outcome {
        Outcome::Reached => Corpus::Keep,
        Outcome::Stopped(_) => Corpus::Reject,
    }
}
