#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| weld_fuzz::targets::load_survey(data));
