//! Test fixture: what a plugin built against a future chatferry (plugin ABI
//! 3.0.0) looks like to this host. Its records would not match ours, so the
//! host must refuse it from the version symbol alone, before touching any
//! abi_stable data, and say which versions differ.

/// The plugin ABI version this library claims.
#[no_mangle]
pub extern "C" fn chatferry_abi_version() -> *const std::os::raw::c_char {
    c"3.0.0".as_ptr()
}
