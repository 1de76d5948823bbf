#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/shared_prefs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_plugin_wechat_android::fuzzing::shared_prefs(data));
