#![no_main]
// The same entry point the smoke test runs over fuzz/corpus/whatsapp_ios_blobs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| chatferry_plugin_whatsapp_ios::fuzzing::blobs(data));
