#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/java_settings.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_plugin_wechat_android::fuzzing::java_settings(data));
