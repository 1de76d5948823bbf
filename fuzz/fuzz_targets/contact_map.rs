#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/contact_map.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_cli::fuzzing::contact_map(data));
