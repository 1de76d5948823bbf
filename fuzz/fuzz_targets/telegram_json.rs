#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/telegram_json.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_plugin_telegram_json::fuzzing::export(data));
