#![no_main]
use weld_fuzz::{tally, targets};
libfuzzer_sys::fuzz_target!(|data: &[u8]| -> libfuzzer_sys::Corpus { tally(targets::size_map(data)) });
