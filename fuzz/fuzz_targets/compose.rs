#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = weld_fuzz::targets::compose(&mut arbitrary::Unstructured::new(data));
});
