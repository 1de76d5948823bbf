#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/wechat_xml.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_wechat::fuzzing::content(data));
