//! The plugin side of the ABI: turns an author's [`Plugin`] into the root
//! module, and guarantees no panic crosses the boundary: every exported
//! function and every importer/exporter method runs under `catch_unwind`,
//! and a panic becomes an `Internal` error naming where it happened.

use super::records::*;
use super::*;
use crate::adapter::{Adapter, Exporter, Importer, Options};
use crate::error::{Error, Result};
use crate::model::Message;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RErr, ROk};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

/// What a plugin crate implements, then exports with
/// `chatferry_core::export_plugin!(MyPlugin);`.
pub trait Plugin: 'static {
    /// The plugin's name (usually `env!("CARGO_PKG_NAME")`).
    const NAME: &'static str;
    /// The plugin's version (usually `env!("CARGO_PKG_VERSION")`).
    const VERSION: &'static str;
    const DESCRIPTION: &'static str;
    /// The adapters this plugin provides. Called for each request: keep the
    /// adapters cheap to construct.
    fn adapters() -> Vec<Box<dyn Adapter>>;
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The plugin has its own copy of std and so its own panic hook: replace it
/// with one that records the message and place instead of printing a
/// multi-line report, so the host can show one line. `CHATFERRY_PANIC_TRACE=1`
/// keeps the default report for debugging.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // core's own tests run the guest in the test process: keep the
        // harness's hook so their failures still print.
        if cfg!(test) || std::env::var_os("CHATFERRY_PANIC_TRACE").is_some() {
            return;
        }
        std::panic::set_hook(Box::new(|info| {
            let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
                s.to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "(no message)".to_string()
            };
            let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{place}")));
        }));
    });
}

/// Runs `f`, turning an error or a panic into an `FfiError`.
fn guard<T>(what: &str, f: impl FnOnce() -> Result<T>) -> RResult<T, FfiError> {
    install_panic_hook();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => ROk(v),
        Ok(Err(e)) => RErr(e.into()),
        Err(payload) => {
            let recorded = LAST_PANIC.with(|p| p.borrow_mut().take());
            let detail = recorded.unwrap_or_else(|| {
                payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".into())
            });
            RErr(Error::internal(format!("the plugin panicked in {what}: {detail}")).into())
        }
    }
}

fn adapter_for<P: Plugin>(id: &str) -> Result<Box<dyn Adapter>> {
    P::adapters()
        .into_iter()
        .find(|a| a.info().id == id)
        .ok_or_else(|| Error::usage(format!("plugin {} has no adapter {id:?}", P::NAME)))
}

fn options_from(kv: RVec<FfiKv>) -> Options {
    Options(kv.into_iter().map(|e| (e.key.into_string(), e.value.into_string())).collect())
}

fn adapter_info_to_ffi(info: crate::AdapterInfo) -> FfiAdapterInfo {
    FfiAdapterInfo {
        id: info.id.into(),
        name: info.name.into(),
        description: info.description.into(),
        import: info.capabilities.import,
        export: info.capabilities.export,
        input: info.input.code(),
        output: info.output.code(),
        options: info
            .options
            .into_iter()
            .map(|o| FfiOptionSpec {
                name: o.name.into(),
                kind: o.kind.code(),
                help: o.help.into(),
                import: o.import,
                export: o.export,
            })
            .collect(),
    }
}

extern "C" fn describe<P: Plugin>() -> RResult<FfiPluginInfo, FfiError> {
    guard("describe", || {
        Ok(FfiPluginInfo {
            name: P::NAME.into(),
            version: P::VERSION.into(),
            description: P::DESCRIPTION.into(),
            abi_version: ABI_VERSION.into(),
            adapters: P::adapters().into_iter().map(|a| adapter_info_to_ffi(a.info())).collect(),
        })
    })
}

extern "C" fn probe<P: Plugin>(adapter: RStr<'_>, path: RStr<'_>) -> RResult<u8, FfiError> {
    guard("probe", || adapter_for::<P>(adapter.as_str())?.probe(Path::new(path.as_str())))
}

extern "C" fn open_importer<P: Plugin>(
    adapter: RStr<'_>,
    input: RStr<'_>,
    options: RVec<FfiKv>,
) -> RResult<FfiImporterBox, FfiError> {
    guard("opening the importer", || {
        let importer =
            adapter_for::<P>(adapter.as_str())?.open_importer(Path::new(input.as_str()), &options_from(options))?;
        Ok(FfiImporter_TO::from_value(GuestImporter::new(importer), TD_Opaque))
    })
}

extern "C" fn open_exporter<P: Plugin>(
    adapter: RStr<'_>,
    output: RStr<'_>,
    options: RVec<FfiKv>,
) -> RResult<FfiExporterBox, FfiError> {
    guard("opening the exporter", || {
        let exporter =
            adapter_for::<P>(adapter.as_str())?.open_exporter(Path::new(output.as_str()), &options_from(options))?;
        Ok(FfiExporter_TO::from_value(GuestExporter::new(exporter), TD_Opaque))
    })
}

/// The root module for plugin `P` (called by abi_stable's loader).
pub fn root_module<P: Plugin>() -> PluginModRef {
    PluginMod {
        describe: describe::<P>,
        probe: probe::<P>,
        open_importer: open_importer::<P>,
        open_exporter: open_exporter::<P>,
    }
    .leak_into_prefix()
}

/// An importer or exporter behind the boundary. After an error or a panic
/// its state is unknown, so every later call fails instead of touching it.
pub(super) struct Guarded<T: ?Sized> {
    inner: Box<T>,
    poisoned: bool,
}

impl<T: ?Sized> Guarded<T> {
    pub(super) fn new(inner: Box<T>) -> Guarded<T> {
        Guarded { inner, poisoned: false }
    }

    fn call<R>(&mut self, what: &str, f: impl FnOnce(&mut T) -> Result<R>) -> RResult<R, FfiError> {
        if self.poisoned {
            return RErr(
                Error::internal("the plugin failed earlier in this conversion; no further calls are made").into(),
            );
        }
        let inner = &mut self.inner;
        let out = guard(what, || f(inner));
        if out.is_err() {
            self.poisoned = true;
        }
        out
    }
}

/// Messages lent in one call at most: a batch is lent in slices of this
/// many, so the views (near a kilobyte each) stay in the cache between the
/// plugin writing them and the host reading them, where a thousand views
/// were written out to memory and read back (filling the views took 6% of
/// the whatsapp-txt benchmark's import, 4.5% in slices).
pub const LEND_AT_MOST: usize = 128;

/// An importer behind the boundary, with the batch it lends.
pub(super) struct GuestImporter {
    /// Views into `lent[..shown]`'s last slice, handed to the host. Declared
    /// first so they are dropped before the batch they point into.
    lent_views: Vec<LentMessage<'static>>,
    /// The batch being lent; goes back to the importer once all of it was
    /// lent and the next is taken.
    lent: Vec<Message>,
    /// How much of `lent` has been lent.
    shown: usize,
    guarded: Guarded<dyn Importer>,
}

impl GuestImporter {
    pub(super) fn new(importer: Box<dyn Importer>) -> GuestImporter {
        GuestImporter { lent_views: Vec::new(), lent: Vec::new(), shown: 0, guarded: Guarded::new(importer) }
    }

    fn call<R>(&mut self, what: &str, f: impl FnOnce(&mut dyn Importer) -> Result<R>) -> RResult<R, FfiError> {
        self.guarded.call(what, |i| f(i))
    }

    /// Gives the lent batch back to the importer (to be freed on the thread
    /// that built it), once no view of it is left.
    fn take_back_lent(views: &mut Vec<LentMessage<'static>>, lent: &mut Vec<Message>, importer: &mut dyn Importer) {
        views.clear();
        let batch = std::mem::take(lent);
        if !batch.is_empty() {
            importer.recycle(batch);
        }
    }
}

pub(super) type GuestExporter = Guarded<dyn Exporter>;

impl FfiImporter for GuestImporter {
    fn header(&mut self) -> RResult<FfiHeader, FfiError> {
        self.call("reading the header", |i| i.header().map(FfiHeader::from))
    }
    fn next_contacts(&mut self, max: u32) -> RResult<RVec<FfiContact>, FfiError> {
        self.call("reading contacts", |i| {
            Ok(i.next_contacts(max as usize)?.into_iter().map(FfiContact::from).collect())
        })
    }
    fn next_chats(&mut self, max: u32) -> RResult<RVec<FfiChat>, FfiError> {
        self.call("reading chats", |i| Ok(i.next_chats(max as usize)?.into_iter().map(FfiChat::from).collect()))
    }
    fn lend_messages(&mut self, max: u32) -> RResult<RSlice<'_, LentMessage<'_>>, FfiError> {
        let GuestImporter { lent_views, lent, shown, guarded } = self;
        let out = guarded.call("reading messages", |i| {
            // The batch before stays here until the views point elsewhere.
            let mut before = Vec::new();
            if *shown >= lent.len() {
                let mut batch = i.next_messages(max as usize)?;
                for m in batch.iter_mut().filter(|m| super::carried::needs_packing(m)) {
                    super::carried::pack(m);
                }
                before = std::mem::replace(lent, batch);
                *shown = 0;
            }
            let slice = &lent[*shown..(*shown + LEND_AT_MOST.min(max.max(1) as usize)).min(lent.len())];
            *shown += slice.len();
            // The views of the slice before are refilled in place (writing
            // a whole view was a kilobyte a message), and only then is the
            // batch before given back: a view always points into a batch
            // still here.
            // SAFETY: the views point into the strings of `lent`, which stays
            // put (moving the vector moves no string) until the next call has
            // refilled or cleared every view (or the views are dropped first,
            // by field order). The slice returned borrows `self`, so the host
            // cannot call again while it holds it.
            lent_views.truncate(slice.len());
            let refilled = lent_views.len();
            for (view, m) in lent_views.iter_mut().zip(slice) {
                unsafe { std::mem::transmute::<&mut LentMessage<'static>, &mut LentMessage<'_>>(view) }.refill(m);
            }
            lent_views.extend(
                slice[refilled..]
                    .iter()
                    .map(|m| unsafe { std::mem::transmute::<LentMessage<'_>, LentMessage<'static>>(m.into()) }),
            );
            if !before.is_empty() {
                i.recycle(before);
            }
            Ok(())
        });
        match out {
            ROk(()) => ROk(RSlice::from_slice(lent_views)),
            RErr(e) => RErr(e),
        }
    }
    fn finish(&mut self) -> RResult<RString, FfiError> {
        let GuestImporter { lent_views, lent, shown, guarded } = self;
        *shown = 0;
        guarded.call("finishing the import", |i| {
            Self::take_back_lent(lent_views, lent, i);
            report_json(i.finish()?)
        })
    }
}

impl FfiExporter for GuestExporter {
    fn begin(&mut self, header: FfiHeader) -> RResult<(), FfiError> {
        self.call("starting the export", |e| e.begin(&header.into()))
    }
    fn write_contacts(&mut self, batch: RVec<FfiContact>) -> RResult<(), FfiError> {
        self.call("writing contacts", |e| e.write_contacts(batch.into_iter().map(Into::into).collect()))
    }
    fn write_chats(&mut self, batch: RVec<FfiChat>) -> RResult<(), FfiError> {
        self.call("writing chats", |e| e.write_chats(batch.into_iter().map(Into::into).collect()))
    }
    fn write_lent(&mut self, batch: RSlice<'_, LentMessage<'_>>) -> RResult<(), FfiError> {
        self.call("writing messages", |e| e.write_messages(batch.iter().map(Message::from).collect()))
    }
    fn finish(&mut self) -> RResult<RString, FfiError> {
        self.call("finishing the export", |e| report_json(e.finish()?))
    }
}

fn report_json(report: crate::Report) -> Result<RString> {
    serde_json::to_string(&report)
        .map(RString::from)
        .map_err(|e| Error::internal(format!("cannot encode the report: {e}")))
}

/// abi_stable's mangled name for the root-module header static.
#[doc(hidden)]
#[macro_export]
macro_rules! __root_module_symbol {
    () => {
        "_1as_0lib_1header_0root_bmodule_bloader"
    };
}

/// Exports a [`Plugin`] from a `cdylib` crate:
///
/// ```ignore
/// struct MyPlugin;
/// impl chatferry_core::abi::guest::Plugin for MyPlugin { … }
/// chatferry_core::export_plugin!(MyPlugin);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        #[export_name = $crate::__root_module_symbol!()]
        pub static CHATFERRY_PLUGIN_HEADER: $crate::abi::__private::LibHeader = {
            extern "C" fn __chatferry_root_module() -> $crate::abi::__private::RootModuleResult {
                $crate::abi::__private::__call_root_module_loader($crate::abi::guest::root_module::<$plugin>)
            }
            // SAFETY: the constructor returns the root module of type PluginModRef.
            unsafe {
                $crate::abi::__private::LibHeader::from_constructor::<$crate::abi::PluginModRef>(
                    __chatferry_root_module,
                    $crate::abi::__private::CheckTypeLayout::Yes,
                )
            }
        };

        /// The plugin ABI version this library was built for.
        #[doc(hidden)]
        #[no_mangle]
        pub extern "C" fn chatferry_abi_version() -> *const ::std::os::raw::c_char {
            $crate::abi::ABI_VERSION_C.as_ptr()
        }
    };
}
