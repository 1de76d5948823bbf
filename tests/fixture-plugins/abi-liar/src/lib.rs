//! Test fixture: a library that says it speaks plugin ABI 2.1.0 but whose
//! root module has a different layout, as a plugin built against an edited
//! chatferry-core would. The version gate lets it through; abi_stable's
//! layout check must refuse it, and the host must say so in one line.

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::RString;
use abi_stable::{declare_root_module_statics, export_root_module, prefix_type::PrefixTypeTrait, StableAbi};

/// Same type name and versions as chatferry's root module; other fields.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    #[sabi(last_prefix_field)]
    pub describe: extern "C" fn() -> RString,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "chatferry_plugin";
    const NAME: &'static str = "chatferry plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("2.1.0");
}

extern "C" fn describe() -> RString {
    "liar".into()
}

#[export_root_module]
pub fn root() -> PluginModRef {
    PluginMod { describe }.leak_into_prefix()
}

#[no_mangle]
pub extern "C" fn chatferry_abi_version() -> *const std::os::raw::c_char {
    c"2.1.0".as_ptr()
}
