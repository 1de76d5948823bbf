#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/backup_plists.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_core::fuzzing::backup_plists(data));
