//! The host side of the ABI: loads a plugin library, refuses an
//! incompatible one with a one-line reason, and wraps its adapters so they
//! implement the same `Adapter`/`Importer`/`Exporter` traits as built-in ones.
//! Libraries are never unloaded (abi_stable's rule, and safe with threads).

use super::records::*;
use super::*;
use crate::adapter::{
    Adapter, AdapterInfo, Capabilities, Exporter, Glance, Importer, OptionKind, OptionSpec, Options, PathKind,
    PluginInfo,
};
use crate::error::{Error, Result};
use crate::model::{Chat, Contact, Header, Message};
use crate::report::Report;
use abi_stable::library::{lib_header_from_path, LibraryError};
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A plugin that loaded and passed every check.
pub struct LoadedPlugin {
    pub path: PathBuf,
    pub info: PluginInfo,
    pub adapters: Vec<Arc<dyn Adapter>>,
}

/// Whether a plugin built for ABI `plugin` can be loaded by a host speaking
/// ABI `host`: same major, plugin minor not newer.
pub fn check_abi_compatible(plugin: &str, host: &str) -> std::result::Result<(), String> {
    let p = semver::Version::parse(plugin)
        .map_err(|_| format!("it declares plugin ABI {plugin:?}, which is not a version number"))?;
    let h = semver::Version::parse(host).expect("the host's ABI version is valid semver");
    if p.major != h.major {
        return Err(format!(
            "it was built for chatferry plugin ABI {p}, this chatferry speaks ABI {h} (the major versions differ): \
             install a build of the plugin made for ABI {}.x",
            h.major
        ));
    }
    if p.minor > h.minor {
        return Err(format!(
            "it was built for chatferry plugin ABI {p}, newer than this chatferry's ABI {h}: \
             update chatferry, or install a build of the plugin made for ABI {}.{}",
            h.major, h.minor
        ));
    }
    Ok(())
}

/// Reads the plugin's declared ABI version through the plain C symbol.
fn declared_abi_version(path: &Path) -> std::result::Result<String, String> {
    // SAFETY: loading a library runs its initialisers; that is what loading a
    // plugin means. The library is leaked below, never unloaded.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("it cannot be loaded as a dynamic library ({e})"))?;
    let version = {
        // SAFETY: the symbol's type is fixed by the ABI contract.
        let sym: libloading::Symbol<extern "C" fn() -> *const c_char> =
            unsafe { lib.get(ABI_VERSION_SYMBOL.as_bytes()) }
                .map_err(|_| format!("it is not a chatferry plugin (no {ABI_VERSION_SYMBOL} symbol)"))?;
        let ptr = sym();
        if ptr.is_null() {
            return Err("it returned no ABI version".into());
        }
        // SAFETY: the plugin returns a pointer to a static NUL-terminated string.
        unsafe { std::ffi::CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
    };
    std::mem::forget(lib);
    Ok(version)
}

/// Checks, before the loader maps it, that `path` is a whole library of
/// this machine's kind: every segment the loader maps lies inside the
/// file. The loader maps a truncated library past the file's end, and the
/// first read there kills the process (SIGBUS) with no word.
fn check_library_file(path: &Path) -> std::result::Result<(), String> {
    use object::{Object, ObjectSegment};
    let cannot_read = |e: std::io::Error| format!("it cannot be read ({e})");
    let file = crate::small_file::open_regular(path).map_err(cannot_read)?;
    let len = file.metadata().map_err(cannot_read)?.len();
    let mut magic = [0u8; 4];
    let _ = std::io::Read::read_exact(&mut &file, &mut magic);
    // ELF, and thin Mach-O of either width and byte order.
    let known = magic == *b"\x7fELF"
        || [0xfeedface_u32, 0xfeedfacf].iter().any(|m| magic == m.to_be_bytes() || magic == m.to_le_bytes());
    // Only the headers are read (a debug build's plugin is tens of MB).
    let cache = object::ReadCache::new(file);
    let damaged = |what: &str| {
        format!("it cannot be loaded as a dynamic library: it is damaged or cut short ({what}); copy or build the plugin again")
    };
    let parsed = match object::File::parse(&cache) {
        Ok(parsed) => parsed,
        Err(e) if known || len < 64 => return Err(damaged(&e.to_string())),
        // A kind this check does not read (a Windows DLL, a universal
        // Mach-O): the loader judges it.
        Err(_) => return Ok(()),
    };
    for segment in parsed.segments() {
        let (offset, size) = segment.file_range();
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Err(damaged(&format!(
                "a part of {size} bytes at byte {offset} lies beyond its end, at {len} bytes"
            )));
        }
    }
    Ok(())
}

/// abi_stable's errors can run to dozens of lines; say what it means.
fn describe_library_error(err: &LibraryError) -> String {
    match err {
        LibraryError::AbiInstability(_) => format!(
            "its record layouts differ from this chatferry's (plugin ABI {ABI_VERSION}): \
             rebuild the plugin against this version of chatferry-core"
        ),
        LibraryError::GetSymbolError { .. } => {
            "it has no chatferry root module (was it built with chatferry_core::export_plugin!?)".into()
        }
        LibraryError::RootModule { .. } => {
            format!("its root module failed to start: {}", first_line(&err.to_string()))
        }
        other => first_line(&other.to_string()),
    }
}

fn first_line(s: &str) -> String {
    s.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("unknown error").to_string()
}

/// Loads and checks one plugin library. The error is one line saying why
/// the file was refused (the caller prefixes the file name).
pub fn load_plugin(path: &Path) -> std::result::Result<LoadedPlugin, String> {
    // A bare `name.so` would be looked for in the system's library path.
    let absolute = std::path::absolute(path).map_err(|e| format!("it cannot be found ({e})"))?;
    let path = absolute.as_path();
    check_library_file(path)?;
    let declared = declared_abi_version(path)?;
    check_abi_compatible(&declared, ABI_VERSION)?;
    let header = lib_header_from_path(path).map_err(|e| describe_library_error(&e))?;
    let module = header.init_root_module::<PluginModRef>().map_err(|e| describe_library_error(&e))?;
    let info = module.describe()().into_result().map_err(|e| {
        let e: Error = e.into();
        format!("it failed to describe itself: {e}")
    })?;
    let plugin_name = info.name.to_string();
    let mut adapters: Vec<Arc<dyn Adapter>> = Vec::new();
    for a in info.adapters.iter() {
        let adapter_info = AdapterInfo {
            id: a.id.to_string(),
            name: a.name.to_string(),
            description: a.description.to_string(),
            capabilities: Capabilities { import: a.import, export: a.export },
            input: PathKind::from_code(a.input),
            output: PathKind::from_code(a.output),
            options: a
                .options
                .iter()
                .map(|o| OptionSpec {
                    name: o.name.to_string(),
                    kind: OptionKind::from_code(o.kind),
                    help: o.help.to_string(),
                    import: o.import,
                    export: o.export,
                })
                .collect(),
        };
        if adapter_info.id.is_empty() {
            return Err("it declares an adapter with an empty id".into());
        }
        adapters.push(Arc::new(ForeignAdapter { module, info: adapter_info, plugin: plugin_name.clone() }));
    }
    Ok(LoadedPlugin {
        path: path.to_path_buf(),
        info: PluginInfo {
            name: plugin_name,
            version: info.version.to_string(),
            description: info.description.to_string(),
            abi_version: declared,
        },
        adapters,
    })
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| {
        Error::usage(format!("{} is not valid UTF-8; rename it or use a path without such characters", path.display()))
    })
}

fn options_to_ffi(options: &Options) -> RVec<FfiKv> {
    options.0.iter().map(|(k, v)| FfiKv { key: k.as_str().into(), value: v.as_str().into() }).collect()
}

/// An adapter living in a loaded plugin.
struct ForeignAdapter {
    module: PluginModRef,
    info: AdapterInfo,
    plugin: String,
}

impl ForeignAdapter {
    fn err(&self, e: FfiError) -> Error {
        wrap(&self.plugin, &self.info.id, e)
    }
}

impl Adapter for ForeignAdapter {
    fn info(&self) -> AdapterInfo {
        self.info.clone()
    }

    fn probe(&self, path: &Path) -> Result<u8> {
        let p = path_str(path)?;
        self.module.probe()(self.info.id.as_str().into(), p.into()).into_result().map_err(|e| self.err(e))
    }

    fn open_importer(&self, input: &Path, options: &Options) -> Result<Box<dyn Importer>> {
        let p = path_str(input)?;
        let inner = self.module.open_importer()(self.info.id.as_str().into(), p.into(), options_to_ffi(options))
            .into_result()
            .map_err(|e| self.err(e))?;
        Ok(Box::new(ForeignImporter {
            inner,
            plugin: self.plugin.clone(),
            adapter: self.info.id.clone(),
            ended: false,
        }))
    }

    fn open_exporter(&self, output: &Path, options: &Options) -> Result<Box<dyn Exporter>> {
        let p = path_str(output)?;
        let inner = self.module.open_exporter()(self.info.id.as_str().into(), p.into(), options_to_ffi(options))
            .into_result()
            .map_err(|e| self.err(e))?;
        Ok(Box::new(ForeignExporter { inner, plugin: self.plugin.clone(), adapter: self.info.id.clone() }))
    }
}

/// Internal errors (bugs, panics) name the plugin and adapter they came from;
/// the others are already written for the person running chatferry.
fn wrap(plugin: &str, adapter: &str, e: FfiError) -> Error {
    let e: Error = e.into();
    if e.kind == crate::ErrorKind::Internal {
        Error::internal(format!("plugin {plugin} (adapter {adapter}): {}", e.message))
    } else {
        e
    }
}

fn parse_report(json: RString) -> Result<Report> {
    serde_json::from_str(json.as_str())
        .map_err(|e| Error::internal(format!("the plugin returned a report chatferry cannot read: {e}")))
}

struct ForeignImporter {
    inner: FfiImporterBox,
    plugin: String,
    adapter: String,
    /// The plugin lent no more messages: it is not asked again.
    ended: bool,
}

impl Importer for ForeignImporter {
    fn header(&mut self) -> Result<Header> {
        let r = self.inner.header().into_result();
        r.map(Header::from).map_err(|e| wrap(&self.plugin, &self.adapter, e))
    }
    fn next_contacts(&mut self, max: usize) -> Result<Vec<Contact>> {
        let r = self.inner.next_contacts(max as u32).into_result();
        r.map(|v| v.into_iter().map(Contact::from).collect()).map_err(|e| wrap(&self.plugin, &self.adapter, e))
    }
    fn next_chats(&mut self, max: usize) -> Result<Vec<Chat>> {
        let r = self.inner.next_chats(max as u32).into_result();
        r.map(|v| v.into_iter().map(Chat::from).collect()).map_err(|e| wrap(&self.plugin, &self.adapter, e))
    }
    /// Copies lent messages (the one copy a message makes across) until
    /// `max` or the end: a plugin may lend a batch in slices, and the
    /// exporter still gets whole batches.
    fn next_messages(&mut self, max: usize) -> Result<Vec<Message>> {
        let (want, mut out) = (max.max(1), Vec::new());
        while out.len() < want && !self.ended {
            let r = self.inner.lend_messages((want - out.len()) as u32).into_result();
            let lent = r.map_err(|e| wrap(&self.plugin, &self.adapter, e))?;
            if lent.is_empty() {
                self.ended = true;
                break;
            }
            out.reserve(want - out.len());
            out.extend(lent.iter().map(Message::from));
        }
        Ok(out)
    }
    /// Glances at the lent batch where it is: nothing is copied.
    fn glance_messages(&mut self, max: usize, glance: &mut dyn FnMut(&Glance<'_>)) -> Result<usize> {
        if self.ended {
            return Ok(0);
        }
        let r = self.inner.lend_messages(max as u32).into_result();
        let batch = r.map_err(|e| wrap(&self.plugin, &self.adapter, e))?;
        for m in batch.iter() {
            glance(&Glance {
                chat: m.chat.as_str(),
                kind: kind_from_code(m.kind),
                timestamp_ms: m.timestamp_ms,
                media_missing: m.media.as_ref().into_option().map(|x| x.missing),
                reply: m.reply_to.is_some(),
                reactions: m.reactions.len(),
            });
        }
        let n = batch.len();
        self.ended = n == 0;
        Ok(n)
    }
    fn finish(&mut self) -> Result<Report> {
        let r = self.inner.finish().into_result().map_err(|e| wrap(&self.plugin, &self.adapter, e))?;
        parse_report(r)
    }
}

struct ForeignExporter {
    inner: FfiExporterBox,
    plugin: String,
    adapter: String,
}

impl ForeignExporter {
    /// Lends the batch: the plugin copies each string once, the batch stays
    /// the caller's.
    fn write_lent(&mut self, batch: &[Message]) -> Result<()> {
        // The few messages with fields the records cannot hold are lent as
        // packed copies ([`super::carried`]); the rest as they are.
        let packed: Vec<Message> = batch
            .iter()
            .filter(|m| super::carried::needs_packing(m))
            .map(|m| {
                let mut c = m.clone();
                super::carried::pack(&mut c);
                c
            })
            .collect();
        let mut packed_iter = packed.iter();
        let views: Vec<LentMessage<'_>> = batch
            .iter()
            .map(|m| match super::carried::needs_packing(m) {
                true => LentMessage::from(packed_iter.next().expect("one copy per packed message")),
                false => LentMessage::from(m),
            })
            .collect();
        let r = self.inner.write_lent(RSlice::from_slice(&views)).into_result();
        r.map_err(|e| wrap(&self.plugin, &self.adapter, e))
    }
}

impl Exporter for ForeignExporter {
    fn begin(&mut self, header: &Header) -> Result<()> {
        let r = self.inner.begin(header.clone().into()).into_result();
        r.map_err(|e| wrap(&self.plugin, &self.adapter, e))
    }
    fn write_contacts(&mut self, batch: Vec<Contact>) -> Result<()> {
        let r = self.inner.write_contacts(batch.into_iter().map(FfiContact::from).collect()).into_result();
        r.map_err(|e| wrap(&self.plugin, &self.adapter, e))
    }
    fn write_chats(&mut self, batch: Vec<Chat>) -> Result<()> {
        let r = self.inner.write_chats(batch.into_iter().map(FfiChat::from).collect()).into_result();
        r.map_err(|e| wrap(&self.plugin, &self.adapter, e))
    }
    fn write_messages(&mut self, batch: Vec<Message>) -> Result<()> {
        self.write_lent(&batch)
    }
    fn write_borrowed(&mut self, batch: &[Message]) -> Option<Result<()>> {
        Some(self.write_lent(batch))
    }
    fn finish(&mut self) -> Result<Report> {
        let r = self.inner.finish().into_result().map_err(|e| wrap(&self.plugin, &self.adapter, e))?;
        parse_report(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::guest::{GuestExporter, GuestImporter};
    use abi_stable::sabi_trait::TD_Opaque;
    use std::sync::Mutex;

    #[test]
    fn abi_compatibility_rules() {
        assert!(check_abi_compatible("1.0.0", "1.0.0").is_ok());
        assert!(check_abi_compatible("1.0.5", "1.0.0").is_ok());
        assert!(check_abi_compatible("1.0.0", "1.3.0").is_ok());
        let major = check_abi_compatible("2.0.0", "1.3.0").unwrap_err();
        assert!(major.contains("2.0.0") && major.contains("1.3.0"), "{major}");
        let minor = check_abi_compatible("1.4.0", "1.3.0").unwrap_err();
        assert!(minor.contains("newer"), "{minor}");
        assert!(check_abi_compatible("one", "1.0.0").is_err());
    }

    /// Gives fixed batches and records the sizes of those handed back.
    struct Batches {
        left: Vec<Vec<Message>>,
        recycled: Arc<Mutex<Vec<usize>>>,
        /// How often it was asked for messages.
        asked: Arc<Mutex<usize>>,
    }
    impl Importer for Batches {
        fn header(&mut self) -> Result<Header> {
            Ok(Header::default())
        }
        fn next_contacts(&mut self, _: usize) -> Result<Vec<Contact>> {
            Ok(Vec::new())
        }
        fn next_chats(&mut self, _: usize) -> Result<Vec<Chat>> {
            Ok(Vec::new())
        }
        fn next_messages(&mut self, _: usize) -> Result<Vec<Message>> {
            *self.asked.lock().unwrap() += 1;
            Ok(if self.left.is_empty() { Vec::new() } else { self.left.remove(0) })
        }
        fn recycle(&mut self, batch: Vec<Message>) {
            self.recycled.lock().unwrap().push(batch.len());
        }
    }

    /// Keeps what it is given.
    struct Sink(Arc<Mutex<Vec<Message>>>);
    impl Exporter for Sink {
        fn begin(&mut self, _: &Header) -> Result<()> {
            Ok(())
        }
        fn write_contacts(&mut self, _: Vec<Contact>) -> Result<()> {
            Ok(())
        }
        fn write_chats(&mut self, _: Vec<Chat>) -> Result<()> {
            Ok(())
        }
        fn write_messages(&mut self, batch: Vec<Message>) -> Result<()> {
            self.0.lock().unwrap().extend(batch);
            Ok(())
        }
        fn finish(&mut self) -> Result<Report> {
            Ok(Report::new())
        }
    }

    fn messages() -> Vec<Message> {
        let full = crate::abi::lent::tests::every_field_message();
        let bare =
            Message { id: "43".into(), text: Some("سلام 你好".into()), media: None, poll: None, ..full.clone() };
        vec![full.clone(), bare, Message { id: "44".into(), extras: crate::Extras::new(), ..full }]
    }

    /// Lent batches carry every field both ways, and the importer gets each
    /// batch back to free on its own thread.
    #[test]
    fn lent_batches_cross_whole_and_go_back_to_their_importer() {
        let all = messages();
        let recycled = Arc::new(Mutex::new(Vec::new()));
        let guest = GuestImporter::new(Box::new(Batches {
            left: vec![all[..2].to_vec(), all[2..].to_vec()],
            recycled: recycled.clone(),
            asked: Default::default(),
        }));
        let mut importer = ForeignImporter {
            inner: FfiImporter_TO::from_value(guest, TD_Opaque),
            plugin: "p".into(),
            adapter: "a".into(),
            ended: false,
        };
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut exporter = ForeignExporter {
            inner: FfiExporter_TO::from_value(GuestExporter::new(Box::new(Sink(received.clone()))), TD_Opaque),
            plugin: "p".into(),
            adapter: "a".into(),
        };
        let mut read = Vec::new();
        loop {
            let batch = importer.next_messages(1000).unwrap();
            if batch.is_empty() {
                break;
            }
            exporter.write_borrowed(&batch).unwrap().unwrap();
            read.extend(batch);
        }
        importer.finish().unwrap();
        exporter.write_messages(all[..1].to_vec()).unwrap();
        assert_eq!(read, all);
        assert_eq!(*received.lock().unwrap(), [all.clone(), all[..1].to_vec()].concat());
        assert_eq!(*recycled.lock().unwrap(), [2, 1], "each batch handed back once, after it was copied");
    }

    /// A batch larger than a slice is lent in slices: copies still come in
    /// batches of the size asked, a glance sees every message once and in
    /// order, each batch goes back once after its last slice was lent, and
    /// a plugin that lent nothing is not asked again.
    #[test]
    fn a_large_batch_is_lent_in_slices_and_goes_back_after_its_last() {
        use crate::abi::guest::LEND_AT_MOST;
        let n = 2 * LEND_AT_MOST + 44;
        let run = |max: usize, glance: bool| {
            let numbered = |range: std::ops::Range<usize>| -> Vec<Message> {
                range.map(|i| Message { id: i.to_string(), timestamp_ms: i as i64, ..Default::default() }).collect()
            };
            let (recycled, asked) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(0)));
            let guest = GuestImporter::new(Box::new(Batches {
                left: vec![numbered(0..n), numbered(n..n + 5)],
                recycled: recycled.clone(),
                asked: asked.clone(),
            }));
            let mut importer = ForeignImporter {
                inner: FfiImporter_TO::from_value(guest, TD_Opaque),
                plugin: "p".into(),
                adapter: "a".into(),
                ended: false,
            };
            let (mut sizes, mut seen) = (Vec::new(), Vec::new());
            for _ in 0..10 {
                let got = if glance {
                    importer.glance_messages(max, &mut |g| seen.push(g.timestamp_ms)).unwrap()
                } else {
                    let batch = importer.next_messages(max).unwrap();
                    seen.extend(batch.iter().map(|m| {
                        assert_eq!(m.id, m.timestamp_ms.to_string(), "a copy is of its own message");
                        m.timestamp_ms
                    }));
                    batch.len()
                };
                sizes.push(got);
                if got == 0 {
                    break;
                }
            }
            // Asked once more after the end: the plugin is not.
            let again = if glance {
                importer.glance_messages(max, &mut |_| ()).unwrap()
            } else {
                importer.next_messages(max).unwrap().len()
            };
            assert_eq!(again, 0);
            importer.finish().unwrap();
            assert_eq!(seen, (0..(n + 5) as i64).collect::<Vec<_>>(), "every message once, in order");
            assert_eq!(*recycled.lock().unwrap(), [n, 5], "each batch back once, whole");
            assert_eq!(*asked.lock().unwrap(), 3, "two batches and the end, nothing after");
            sizes
        };
        let slice = LEND_AT_MOST;
        assert_eq!(run(1000, true), [slice, slice, 44, 5, 0]);
        assert_eq!(run(100, true), [100, 100, 100, 5, 0]);
        assert_eq!(run(1000, false), [n + 5, 0], "a copy takes slices until it has what it asked for");
        assert_eq!(run(100, false), [100, 100, 100, 5, 0]);
    }

    #[test]
    fn a_file_that_is_not_a_library_is_refused_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("libchatferry_plugin_fake.so");
        std::fs::write(&f, b"not an ELF file").unwrap();
        let err = load_plugin(&f).err().expect("refused");
        assert!(err.starts_with("it cannot be loaded"), "{err}");
        assert!(!err.contains('\n'));
    }
}
