//! The `file` column of Manifest.db: an `MBFile` record, stored by iOS as an
//! NSKeyedArchiver binary plist (`$top.root` → the MBFile in `$objects`,
//! whose `RelativePath` and `EncryptionKey` are references into `$objects`;
//! shared/formats/ios-encrypted-backup.md §4). Objects are always reached
//! through those references, never by index: in device-made records the
//! index of each object differs. A plain dictionary (older tools) is
//! handled too.

use plist::{Dictionary, Uid, Value};

/// An MBFile record, parsed.
pub struct FileRecord(Value);

/// Records are a few hundred bytes; a crafted one is not allowed to be big.
const MAX_RECORD: usize = 1 << 20;

fn uid_index(v: Option<&Value>) -> Option<usize> {
    v.and_then(|v| v.as_uid()).map(|u| u.get() as usize)
}

impl FileRecord {
    pub fn parse(bytes: &[u8]) -> Result<FileRecord, String> {
        if bytes.len() > MAX_RECORD {
            return Err(format!("a file record of {} bytes", bytes.len()));
        }
        let value = Value::from_reader(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
        if value.as_dictionary().is_none() {
            return Err("a file record that is not a dictionary".into());
        }
        Ok(FileRecord(value))
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.0.to_writer_binary(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    fn objects(&self) -> Option<&Vec<Value>> {
        self.0.as_dictionary()?.get("$objects")?.as_array()
    }

    /// The MBFile's index in `$objects` (`$top.root`, else 1 as iOS writes it).
    fn root(&self) -> Option<usize> {
        let top = self.0.as_dictionary()?;
        let root = top.get("$top").and_then(|t| t.as_dictionary()).and_then(|t| uid_index(t.get("root")));
        let n = self.objects()?.len();
        root.or(Some(1)).filter(|i| *i < n)
    }

    fn mbfile(&self) -> Option<&Dictionary> {
        match self.objects() {
            Some(objects) => objects.get(self.root()?)?.as_dictionary(),
            None => self.0.as_dictionary(),
        }
    }

    fn mbfile_mut(&mut self) -> Option<&mut Dictionary> {
        let root = self.root();
        let top = self.0.as_dictionary_mut()?;
        if !top.contains_key("$objects") {
            return Some(top);
        }
        top.get_mut("$objects")?.as_array_mut()?.get_mut(root?)?.as_dictionary_mut()
    }

    /// What an entry of the MBFile refers to (following a reference).
    fn field(&self, name: &str) -> Option<&Value> {
        let v = self.mbfile()?.get(name)?;
        match (v.as_uid(), self.objects()) {
            (Some(u), Some(objects)) => objects.get(u.get() as usize),
            _ => Some(v),
        }
    }

    pub fn size(&self) -> Option<u64> {
        self.mbfile()?.get("Size")?.as_unsigned_integer()
    }

    pub fn protection_class(&self) -> Option<u32> {
        self.mbfile()?.get("ProtectionClass")?.as_unsigned_integer().and_then(|c| u32::try_from(c).ok())
    }

    /// The 44 bytes of `EncryptionKey`: a little-endian class and the
    /// 40-byte wrapped key (an `NSMutableData`'s `NS.data`, or plain data).
    pub fn encryption_key(&self) -> Option<&[u8]> {
        let v = self.field("EncryptionKey")?;
        match v {
            Value::Data(d) => Some(d),
            // `NS.data` holds the bytes, or (some writers) refers to them.
            Value::Dictionary(d) => match d.get("NS.data")? {
                Value::Uid(u) => self.objects()?.get(u.get() as usize)?.as_data(),
                other => other.as_data(),
            },
            _ => None,
        }
    }

    /// Sets the record's path (the string its reference points at).
    pub fn set_path(&mut self, relative: &str) {
        self.set_string_field("RelativePath", relative);
    }

    fn set_string_field(&mut self, name: &str, text: &str) {
        let keyed_ref = uid_index(self.mbfile().and_then(|m| m.get(name)));
        match (keyed_ref, self.0.as_dictionary_mut().and_then(|t| t.get_mut("$objects")).and_then(|o| o.as_array_mut()))
        {
            (Some(i), Some(objects)) if i < objects.len() => objects[i] = Value::String(text.into()),
            _ => {
                if let Some(mb) = self.mbfile_mut() {
                    mb.insert(name.into(), Value::String(text.into()));
                }
            }
        }
    }

    fn set_number(&mut self, name: &str, n: u64) {
        if let Some(mb) = self.mbfile_mut() {
            mb.insert(name.into(), Value::Integer(n.into()));
        }
    }

    pub fn set_size(&mut self, size: u64) {
        self.set_number("Size", size);
    }

    /// Marks the record changed now (where it has the times).
    pub fn touch(&mut self, unix_seconds: u64) {
        for name in ["LastModified", "LastStatusChange"] {
            if self.mbfile().is_some_and(|m| m.contains_key(name)) {
                self.set_number(name, unix_seconds);
            }
        }
    }

    /// Sets `ProtectionClass` and `EncryptionKey` (44 bytes), adding the
    /// key's `NSMutableData` object when the record has none.
    pub fn set_encryption(&mut self, class: u32, key: &[u8; 44]) {
        self.set_number("ProtectionClass", class as u64);
        let existing = uid_index(self.mbfile().and_then(|m| m.get("EncryptionKey")));
        let Some(objects) =
            self.0.as_dictionary_mut().and_then(|t| t.get_mut("$objects")).and_then(|o| o.as_array_mut())
        else {
            if let Some(mb) = self.mbfile_mut() {
                mb.insert("EncryptionKey".into(), Value::Data(key.to_vec()));
            }
            return;
        };
        if let Some(d) = existing.and_then(|i| objects.get_mut(i)).and_then(|o| o.as_dictionary_mut()) {
            // Replaced in place: a referred-to data object is left for the
            // archive's other references, the key now held inline.
            d.insert("NS.data".into(), Value::Data(key.to_vec()));
            return;
        }
        // A record cloned from one without a key (a folder's): append the
        // data object and, if missing, its class description.
        let class_index = objects
            .iter()
            .position(|o| {
                o.as_dictionary().and_then(|d| d.get("$classname")).and_then(|n| n.as_string()) == Some("NSMutableData")
            })
            .unwrap_or_else(|| {
                let mut c = Dictionary::new();
                c.insert("$classname".into(), "NSMutableData".into());
                c.insert(
                    "$classes".into(),
                    Value::Array(vec!["NSMutableData".into(), "NSData".into(), "NSObject".into()]),
                );
                objects.push(Value::Dictionary(c));
                objects.len() - 1
            });
        let mut data = Dictionary::new();
        data.insert("NS.data".into(), Value::Data(key.to_vec()));
        data.insert("$class".into(), Value::Uid(Uid::new(class_index as u64)));
        objects.push(Value::Dictionary(data));
        let at = objects.len() - 1;
        if let Some(mb) = self.mbfile_mut() {
            mb.insert("EncryptionKey".into(), Value::Uid(Uid::new(at as u64)));
        }
    }

    /// Takes the key out (a folder record cloned from a file's).
    pub fn clear_encryption(&mut self) {
        if let Some(mb) = self.mbfile_mut() {
            mb.remove("EncryptionKey");
        }
    }
}
