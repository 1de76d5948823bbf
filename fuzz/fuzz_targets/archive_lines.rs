#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/archive_lines.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_core::fuzzing::archive_lines(data));
