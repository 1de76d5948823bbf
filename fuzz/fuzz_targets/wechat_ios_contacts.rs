#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/wechat_ios_contacts.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_plugin_wechat_ios::fuzzing::contacts(data));
