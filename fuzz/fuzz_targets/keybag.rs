#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/keybag.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_core::fuzzing::keybag(data));
