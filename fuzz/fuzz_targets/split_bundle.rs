#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = weld_fuzz::targets::split_bundle(&mut arbitrary::Unstructured::new(data));
});
