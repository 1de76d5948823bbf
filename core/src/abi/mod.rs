//! The plugin ABI. Everything that touches abi_stable lives in this module,
//! so replacing abi_stable (pinned at 0.11.3, unmaintained since 2023)
//! touches one crate.
//!
//! A plugin exports two symbols:
//! - `chatferry_abi_version`, a plain C function returning the ABI version
//!   string it was built for. The host reads it with libloading *before*
//!   abi_stable looks at the library, so a plugin from another ABI major is
//!   refused with a message naming both versions instead of a layout dump.
//! - abi_stable's root-module header, whose layout abi_stable checks at load.
//!
//! Both are written by [`export_plugin!`](crate::export_plugin); plugin
//! authors never write ABI attributes.

pub mod carried;
pub mod guest;
pub mod host;
pub mod lent;
pub mod records;

use abi_stable::library::RootModule;
use abi_stable::sabi_trait;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RBox, RResult, RSlice, RStr, RString, RVec};
use abi_stable::{declare_root_module_statics, StableAbi};
use lent::LentMessage;
use records::*;
use std::ffi::CStr;

/// The plugin ABI version (semver). The host loads a plugin whose ABI has the
/// same major and an equal or older minor.
///
/// 2.0 (from 1.0): message batches are lent ([`lent`]) instead of handed
/// over as owned records. 2.1: the event kind (code 17) and model 1.1's
/// fields, which cross in extras ([`carried`]); a 2.0 plugin sees an event
/// as `other` and keeps those extras as they are. A minor cannot add a method: abi_stable refuses a
/// plugin whose method table is shorter than the host's, so a host with a
/// new method could not load the previous minor's plugins.
/// (The abi-liar test fixture claims this version: bump it there too.)
pub const ABI_VERSION: &str = "2.1.0";
/// The same, NUL-terminated, for the `chatferry_abi_version` symbol.
pub const ABI_VERSION_C: &CStr = c"2.1.0";
/// The symbol the host reads first.
pub const ABI_VERSION_SYMBOL: &str = "chatferry_abi_version";

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiError {
    pub kind: u8,
    pub message: RString,
}

impl From<crate::Error> for FfiError {
    fn from(e: crate::Error) -> Self {
        FfiError { kind: e.kind.code(), message: e.message.into() }
    }
}
impl From<FfiError> for crate::Error {
    fn from(e: FfiError) -> Self {
        crate::Error::new(crate::ErrorKind::from_code(e.kind), e.message.into_string())
    }
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiOptionSpec {
    pub name: RString,
    pub kind: u8,
    pub help: RString,
    pub import: bool,
    pub export: bool,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiAdapterInfo {
    pub id: RString,
    pub name: RString,
    pub description: RString,
    pub import: bool,
    pub export: bool,
    pub input: u8,
    pub output: u8,
    pub options: RVec<FfiOptionSpec>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiPluginInfo {
    pub name: RString,
    pub version: RString,
    pub description: RString,
    pub abi_version: RString,
    pub adapters: RVec<FfiAdapterInfo>,
}

/// A streaming importer behind the boundary (see `crate::Importer`).

#[sabi_trait]
pub trait FfiImporter: Send {
    fn header(&mut self) -> RResult<FfiHeader, FfiError>;
    fn next_contacts(&mut self, max: u32) -> RResult<RVec<FfiContact>, FfiError>;
    fn next_chats(&mut self, max: u32) -> RResult<RVec<FfiChat>, FfiError>;
    /// The next messages, at most `max` and perhaps fewer (a batch may be
    /// lent in slices; empty only at the end), lent until the next call:
    /// the plugin keeps the batch and frees it where it was built.
    fn lend_messages(&mut self, max: u32) -> RResult<RSlice<'_, LentMessage<'_>>, FfiError>;
    /// The importer's report, as JSON (`crate::Report`).
    #[sabi(last_prefix_field)]
    fn finish(&mut self) -> RResult<RString, FfiError>;
}

/// A streaming exporter behind the boundary (see `crate::Exporter`).

#[sabi_trait]
pub trait FfiExporter: Send {
    fn begin(&mut self, header: FfiHeader) -> RResult<(), FfiError>;
    fn write_contacts(&mut self, batch: RVec<FfiContact>) -> RResult<(), FfiError>;
    fn write_chats(&mut self, batch: RVec<FfiChat>) -> RResult<(), FfiError>;
    /// Writes a batch of messages the host lends for the length of the call.
    fn write_lent(&mut self, batch: RSlice<'_, LentMessage<'_>>) -> RResult<(), FfiError>;
    /// The exporter's report, as JSON (`crate::Report`).
    #[sabi(last_prefix_field)]
    fn finish(&mut self) -> RResult<RString, FfiError>;
}

pub type FfiImporterBox = FfiImporter_TO<'static, RBox<()>>;
pub type FfiExporterBox = FfiExporter_TO<'static, RBox<()>>;

/// The root module every plugin exports. Arguments: adapter id, then a
/// UTF-8 path, then `--opt` options as key/value pairs.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    pub describe: extern "C" fn() -> RResult<FfiPluginInfo, FfiError>,
    pub probe: extern "C" fn(RStr<'_>, RStr<'_>) -> RResult<u8, FfiError>,
    pub open_importer: extern "C" fn(RStr<'_>, RStr<'_>, RVec<FfiKv>) -> RResult<FfiImporterBox, FfiError>,
    #[sabi(last_prefix_field)]
    pub open_exporter: extern "C" fn(RStr<'_>, RStr<'_>, RVec<FfiKv>) -> RResult<FfiExporterBox, FfiError>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "chatferry_plugin";
    const NAME: &'static str = "chatferry plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(ABI_VERSION);
}

/// Re-exports the `export_plugin!` macro needs; not for direct use.
#[doc(hidden)]
pub mod __private {
    pub use abi_stable::library::{__call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_agree() {
        assert_eq!(ABI_VERSION_C.to_str().unwrap(), ABI_VERSION);
        semver::Version::parse(ABI_VERSION).unwrap();
    }

    /// `export_plugin!` hard-codes abi_stable's mangled header symbol name
    /// (a macro_rules attribute needs a literal); keep it in step.
    #[test]
    fn header_symbol_name_matches_abi_stable() {
        assert_eq!(crate::__root_module_symbol!(), abi_stable::library::ROOT_MODULE_LOADER_NAME);
    }
}
