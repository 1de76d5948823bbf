//! chatferry plugin for WeChat on Android: EnMicroMsg.db (SQLCipher,
//! version-1 settings), the account's media folders and shared_prefs.

mod export;
pub mod import;
pub mod javaser;
mod key;

/// Entry points for the fuzz targets in fuzz/ (not an API).
#[doc(hidden)]
pub mod fuzzing {
    /// Bytes as `MicroMsg/CompatibleInfo.cfg` or `systemInfo.cfg`.
    pub fn java_settings(bytes: &[u8]) {
        let _ = crate::javaser::read(bytes);
        let _ = crate::javaser::map_value(bytes, 258);
    }

    /// Bytes as a `shared_prefs/*.xml` file.
    pub fn shared_prefs(bytes: &[u8]) {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let _ = crate::key::pref_in(text, "_auth_uin");
            let _ = crate::key::pref_in(text, "_auth_key");
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_java_settings_corpus_passes() {
            chatferry_core::fuzzing::smoke("java_settings", super::java_settings);
        }

        #[test]
        fn the_shared_prefs_corpus_passes() {
            chatferry_core::fuzzing::smoke("shared_prefs", super::shared_prefs);
        }
    }
}
mod source;

use chatferry_core::abi::guest::Plugin;
use chatferry_core::{
    Adapter, AdapterInfo, Capabilities, Exporter, Importer, OptionKind, OptionSpec, Options, PathKind, Result,
};
use std::path::Path;

pub const ADAPTER_ID: &str = "wechat-android";

pub struct WeChatAndroid;

impl Adapter for WeChatAndroid {
    fn info(&self) -> AdapterInfo {
        AdapterInfo {
            id: ADAPTER_ID.into(),
            name: "WeChat (Android)".into(),
            description: "WeChat's app folder (shared_prefs/, MicroMsg/<account>/EnMicroMsg.db with image2/, voice2/, \
                          video/, emoji/) or EnMicroMsg.db alone; writes the same layout"
                .into(),
            capabilities: Capabilities { import: true, export: true },
            input: PathKind::FileOrFolder,
            output: PathKind::Folder,
            options: vec![
                OptionSpec::new(
                    "media-dir",
                    OptionKind::Paths,
                    "where the phone keeps WeChat's pictures, voice, video and files: a copy of its shared storage \
                     (adb pull /sdcard), or its Android/data/com.tencent.mm, tencent or MicroMsg folder; give it \
                     more than once for the new and the old place. Each file is looked for in the app folder first",
                )
                .import_only(),
                // Not `media-dir` when writing: in a WeChat → WeChat conversion
                // that one already says where the source's media are.
                OptionSpec::new(
                    "shared-storage",
                    OptionKind::Text,
                    "write the phone's two trees: data/com.tencent.mm/ (the app folder) and NAME/Android/data/\
                     com.tencent.mm/ (the media, for the phone's shared storage), both inside the output \
                     (e.g. shared-storage=sdcard)",
                )
                .export_only(),
                OptionSpec::new(
                    "uin",
                    OptionKind::Text,
                    "the account's uin (shared_prefs/auth_info_key_prefs.xml, _auth_uin); read from shared_prefs when \
                     the app folder is given, taken from the source when writing WeChat → WeChat",
                ),
                OptionSpec::new(
                    "imei",
                    OptionKind::Text,
                    "the phone's IMEI if WeChat keyed the database with it (dial *#06#); default: WeChat's own \
                     1234567890ABCDEF",
                ),
                OptionSpec::new(
                    "key-file",
                    OptionKind::Path,
                    "a text file holding the 7-character database key, if you know it (kept off the command line)",
                ),
                OptionSpec::new(
                    "key",
                    OptionKind::Text,
                    "the 7-character database key itself; other users of this machine can see command lines, so \
                     prefer key-file",
                ),
            ],
        }
    }

    fn probe(&self, path: &Path) -> Result<u8> {
        Ok(source::probe(path))
    }

    fn open_importer(&self, input: &Path, options: &Options) -> Result<Box<dyn Importer>> {
        Ok(Box::new(import::open(input, options)?))
    }

    fn open_exporter(&self, output: &Path, options: &Options) -> Result<Box<dyn Exporter>> {
        Ok(Box::new(export::WcExporter::create(output, options)?))
    }
}

pub struct WeChatAndroidPlugin;

impl Plugin for WeChatAndroidPlugin {
    const NAME: &'static str = env!("CARGO_PKG_NAME");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = env!("CARGO_PKG_DESCRIPTION");

    fn adapters() -> Vec<Box<dyn Adapter>> {
        vec![Box::new(WeChatAndroid)]
    }
}

chatferry_core::export_plugin!(WeChatAndroidPlugin);
