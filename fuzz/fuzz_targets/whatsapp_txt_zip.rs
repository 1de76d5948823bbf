#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/whatsapp_txt_zip.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_plugin_whatsapp_txt::fuzzing::zip(data));
