//! chatferry-core: the canonical chat model, the plugin ABI, the canonical
//! archive adapter and the helpers every adapter needs. See DESIGN.md.

#[allow(non_local_definitions)] // abi_stable's sabi_trait expansion
pub mod abi;
pub mod adapter;
pub mod archive;
#[cfg(feature = "backup-plist")]
pub mod backup_plist;
pub mod ddl;
pub mod digits;
pub mod disk;
pub mod error;
mod extras;
#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "ios-backup")]
pub mod ios_backup;
pub mod joined;
pub mod listing;
pub mod media;
pub mod model;
pub mod phone;
pub mod pipeline;
pub mod producer;
pub mod report;
pub mod small_file;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[doc(hidden)]
pub mod testing;
pub mod text_form;
pub mod time;
#[cfg(feature = "zip")]
pub mod unzip;
#[cfg(feature = "zone")]
pub mod zone;

pub use adapter::{
    Adapter, AdapterInfo, Capabilities, Exporter, Glance, Importer, OptionKind, OptionSpec, Options, PathKind,
    PluginInfo, BATCH_SIZE,
};
pub use error::{Error, ErrorKind, Result};
pub use model::*;
pub use report::{Outcome, Report};

/// The version of this crate (the host's version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
