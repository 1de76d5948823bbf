//! WhatsApp's encrypted backups: crypt12 and crypt14 (key file) and crypt15
//! (end-to-end key) decryption, and crypt15 encryption. Layouts
//! (shared/formats/whatsapp.md §2):
//!
//! crypt14/15: `[N][0x01 flag, optional][N bytes BackupPrefix protobuf][AES-256-GCM ciphertext][16-byte tag][16-byte MD5 of all before]`
//! crypt12: `[00 01][key version][server salt 32][google id 16][IV 16][ciphertext][16-byte tag][16-byte MD5 of all before]["--NN"]`
//!
//! The plaintext is a zlib stream of the SQLite file.

use chatferry_core::{Error, Result};
use hkdf::Hkdf;
use md5::{Digest, Md5};
use prost::Message;
use sha2::Sha256;
use std::io::Write;
use std::path::Path;

#[derive(Clone, PartialEq, prost::Message)]
pub struct BackupPrefix {
    /// 0: key file (crypt14), 1: end-to-end, HSM controlled (crypt15).
    #[prost(int32, tag = "1")]
    pub key_type: i32,
    #[prost(message, optional, tag = "2")]
    pub c14_cipher: Option<C14Cipher>,
    #[prost(message, optional, tag = "3")]
    pub c15_iv: Option<C15Iv>,
    #[prost(message, optional, tag = "4")]
    pub info: Option<BackupInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct C14Cipher {
    #[prost(bytes = "vec", tag = "1")]
    pub cipher_version: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub key_version: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub server_salt: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    pub google_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    pub iv: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct C15Iv {
    #[prost(bytes = "vec", tag = "1")]
    pub iv: Vec<u8>,
}

/// The backup's description. Fields 5… are feature flags the restoring app
/// compares with its own; we write those of WhatsApp 2.22.5.13, the version
/// whose schema our exported msgstore.db has.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BackupInfo {
    #[prost(string, tag = "1")]
    pub app_version: String,
    /// The last two digits of the owner's phone number.
    #[prost(string, tag = "3")]
    pub jid_suffix: String,
    #[prost(int32, tag = "4")]
    pub backup_version: i32,
    #[prost(bool, repeated, packed = "false", tag = "5")]
    pub f5: Vec<bool>,
}

/// The app version our exported schema and backup header correspond to.
pub const APP_VERSION: &str = "2.22.5.13";

/// Feature flags (field number, value) of a real 2.22.5.13 crypt15 header.
const FEATURES_2_22_5_13: &[(u32, u64)] = &[
    (5, 1),
    (6, 0),
    (7, 1),
    (8, 1),
    (9, 0),
    (10, 0),
    (11, 0),
    (12, 0),
    (13, 1),
    (14, 1),
    (15, 0),
    (16, 0),
    (17, 0),
    (18, 0),
    (19, 1),
    (20, 0),
    (21, 0),
    (22, 1),
    (23, 0),
    (24, 0),
    (25, 1),
    (26, 0),
    (27, 0),
    (28, 1),
    (29, 0),
    (30, 1),
    (31, 1),
    (32, 1),
    (33, 0),
    (34, 0),
    (35, 0),
    (36, 1),
    (37, 1),
];

/// A key the person supplied.
#[derive(Clone)]
pub enum Key {
    /// crypt12/14 `key` file: the AES key and the server salt it belongs to.
    KeyFile { aes: [u8; 32], server_salt: [u8; 32] },
    /// crypt15: the 32-byte root key (the 64-digit key the app shows).
    Root([u8; 32]),
}

/// Java serialisation header of a `byte[]` (`ac ed 00 05 75 72 00 02 5b 42 …`).
const JAVA_BYTE_ARRAY: &[u8] = &[
    0xac, 0xed, 0x00, 0x05, 0x75, 0x72, 0x00, 0x02, 0x5b, 0x42, 0xac, 0xf3, 0x17, 0xf8, 0x06, 0x08, 0x54, 0xe0, 0x02,
    0x00, 0x00, 0x78, 0x70,
];

/// Never prints key material.
impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::KeyFile { .. } => f.write_str("Key::KeyFile(..)"),
            Key::Root(_) => f.write_str("Key::Root(..)"),
        }
    }
}

impl Key {
    /// Reads a key file: the 64-hex-digit end-to-end key (spaces allowed),
    /// `encrypted_backup.key`, a raw 32-byte key, or the crypt12/14 `key` file.
    pub fn from_file(path: &Path) -> Result<Key> {
        let bytes = chatferry_core::small_file::read(path, "the key file", 64 * 1024)?;
        Key::parse(&bytes).map_err(|why| {
            Error::bad_input(format!(
                "{} is not a WhatsApp key: {why}. Give the 64-digit end-to-end key (in a text file), \
                 encrypted_backup.key, or the `key` file from /data/data/com.whatsapp/files",
                path.display()
            ))
        })
    }

    pub fn parse(bytes: &[u8]) -> std::result::Result<Key, String> {
        if let Some(payload) = java_byte_array(bytes) {
            return match payload.len() {
                32 => Ok(Key::Root(payload.try_into().expect("32"))),
                131 => Ok(Key::KeyFile {
                    server_salt: payload[3..35].try_into().expect("32"),
                    aes: payload[99..131].try_into().expect("32"),
                }),
                n => Err(format!("it holds {n} bytes; a key holds 32 or 131")),
            };
        }
        if bytes.len() == 32 {
            return Ok(Key::Root(bytes.try_into().expect("32")));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| "it is neither text nor a known key file".to_string())?;
        let digits: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if digits.len() != 64 {
            return Err(format!("it holds {} hex digits; the end-to-end key has 64", digits.len()));
        }
        let raw = hex::decode(&digits).map_err(|_| "it has characters that are not hex digits".to_string())?;
        Ok(Key::Root(raw.try_into().expect("32")))
    }

    /// The AES key for crypt15: HKDF-SHA256(salt 0^32, root, "backup encryption").
    fn crypt15_aes(root: &[u8; 32]) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::new(Some(&[0u8; 32]), root);
        let mut out = [0u8; 32];
        hk.expand(b"backup encryption", &mut out).expect("32 bytes is a valid HKDF length");
        out
    }
}

fn java_byte_array(bytes: &[u8]) -> Option<&[u8]> {
    let rest = bytes.strip_prefix(JAVA_BYTE_ARRAY)?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let payload = rest.get(4..)?;
    (payload.len() == len).then_some(payload)
}

/// What kind of file this is, judged from its first bytes.
pub fn looks_encrypted(head: &[u8]) -> bool {
    parse_prefix(head).is_some() || crypt12_header(head).is_some()
}

/// crypt12's raw header is this long; the ciphertext starts after it.
const CRYPT12_HEADER: usize = 67;

/// crypt12's fixed header: cipher version `00 01`, a key version 1–3, then
/// the server salt (bytes 3..35) and the IV (51..67). A crypt14 header
/// cannot look like this: its first byte is the protobuf's length, never 0.
fn crypt12_header(head: &[u8]) -> Option<([u8; 32], [u8; 16])> {
    if head.len() < CRYPT12_HEADER || head[..2] != [0x00, 0x01] || !(1..=3).contains(&head[2]) {
        return None;
    }
    Some((head[3..35].try_into().ok()?, head[51..67].try_into().ok()?))
}

/// Where a backup's parts lie, once its header is read.
struct Layout {
    aes: [u8; 32],
    iv: [u8; 16],
    kind: &'static str,
    /// The ciphertext starts here.
    start: u64,
    /// Bytes after the 32 of [tag][MD5] that are no part of either (crypt12's `--NN`).
    trailer: u64,
    /// crypt12 always ends with its MD5; crypt14/15 multi-file backups do not.
    md5_always: bool,
}

/// The header: the BackupPrefix and where the ciphertext starts.
fn parse_prefix(data: &[u8]) -> Option<(BackupPrefix, usize)> {
    let n = *data.first()? as usize;
    // A protobuf cannot start with byte 0x01 (field 0), so it marks the flag.
    let start = if data.get(1) == Some(&0x01) { 2 } else { 1 };
    let proto = data.get(start..start + n)?;
    let prefix = BackupPrefix::decode(proto).ok()?;
    let has_iv = prefix.c15_iv.as_ref().is_some_and(|c| c.iv.len() == 16)
        || prefix.c14_cipher.as_ref().is_some_and(|c| c.iv.len() == 16);
    has_iv.then_some((prefix, start + n))
}

/// Reading and writing in chunks of this size keeps memory flat.
const CHUNK: usize = 1 << 20;

/// Decrypts a crypt12/crypt14/crypt15 file into `out` (the SQLite file), streaming:
/// memory stays flat whatever the size of the backup. On any failure `out`
/// is removed, so no unauthenticated plaintext is left behind.
pub fn decrypt_file(input: &Path, key: &Key, out: &Path) -> Result<()> {
    let result = decrypt_stream(input, key, out);
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

fn decrypt_stream(input: &Path, key: &Key, out: &Path) -> Result<()> {
    use std::io::{Read, Seek};
    let name = input.display();
    let mut file = chatferry_core::small_file::open_regular(input).map_err(|e| Error::io(input, "read", e))?;
    let file_len = file.metadata().map_err(|e| Error::io(input, "read", e))?.len();
    let mut head = vec![0u8; 512.min(file_len as usize)];
    file.read_exact(&mut head).map_err(|e| Error::io(input, "read", e))?;
    let layout = match crypt12_header(&head) {
        Some((salt, iv)) => match key {
            Key::KeyFile { aes, server_salt } if *server_salt == salt => {
                Layout { aes: *aes, iv, kind: "crypt12", start: CRYPT12_HEADER as u64, trailer: 4, md5_always: true }
            }
            Key::KeyFile { .. } => {
                return Err(Error::wrong_key(format!(
                    "the key file belongs to another account or backup than {name} (its server salt differs); \
                     use the `key` file from the phone that made this backup"
                )))
            }
            Key::Root(_) => {
                return Err(Error::wrong_key(format!(
                    "{name} is a crypt12 backup; it opens with the `key` file from /data/data/com.whatsapp/files, \
                     not with a 64-digit end-to-end key"
                )))
            }
        },
        None => prefix_layout(&head, key, &name.to_string())?,
    };
    let Layout { aes, iv, kind, start, trailer, md5_always } = layout;
    let truncated = || {
        Error::bad_input(format!("{name} is damaged or truncated: it ends inside its header; copy the backup again"))
    };
    // The last 32 bytes are either [tag][MD5 of all before] or [ciphertext][tag];
    // everything from `start` up to them is ciphertext either way.
    let body_end = file_len.checked_sub(32 + trailer).filter(|e| *e >= start).ok_or_else(truncated)?;

    let mut gcm = crate::gcm::GcmStream::new(&aes, &iv);
    let mut md5 = Md5::new();
    let output = std::fs::File::create(out).map_err(|e| Error::io(out, "create", e))?;
    let mut inflate = flate2::write::ZlibDecoder::new(std::io::BufWriter::new(output));
    let mut inflate_error: Option<std::io::Error> = None;
    let mut feed = |plain: &[u8], inflate_error: &mut Option<std::io::Error>| {
        if inflate_error.is_none() {
            if let Err(e) = inflate.write_all(plain) {
                *inflate_error = Some(e);
            }
        }
    };

    file.seek(std::io::SeekFrom::Start(0)).map_err(|e| Error::io(input, "read", e))?;
    md5.update(&head[..start as usize]);
    let mut skip = start;
    std::io::copy(&mut (&mut file).take(skip), &mut std::io::sink()).map_err(|e| Error::io(input, "read", e))?;
    let mut buf = vec![0u8; CHUNK];
    while skip < body_end {
        let n = ((body_end - skip) as usize).min(CHUNK);
        file.read_exact(&mut buf[..n]).map_err(|e| Error::io(input, "read", e))?;
        md5.update(&buf[..n]);
        gcm.decrypt(&mut buf[..n]);
        feed(&buf[..n], &mut inflate_error);
        skip += n as u64;
    }
    let mut tail = [0u8; 32];
    file.read_exact(&mut tail).map_err(|e| Error::io(input, "read", e))?;
    // Single-file backups end with an MD5 of everything before it.
    let md5_ok = {
        let mut m = md5.clone();
        m.update(&tail[..16]);
        m.finalize().as_slice() == &tail[16..]
    };
    if md5_always && !md5_ok {
        return Err(Error::bad_input(format!(
            "{name} is damaged or truncated (its checksum does not match); copy the backup again from the phone"
        )));
    }
    let tag: [u8; 16] = if md5_ok {
        tail[..16].try_into().expect("16")
    } else {
        let mut last: [u8; 16] = tail[..16].try_into().expect("16");
        gcm.decrypt(&mut last);
        feed(&last, &mut inflate_error);
        tail[16..].try_into().expect("16")
    };
    if gcm.tag() != tag {
        return Err(if md5_ok {
            Error::wrong_key(format!(
                "the key did not open {name} (the file is intact, so the key is wrong): check that it is the \
                 {kind} key of this account and this backup"
            ))
        } else {
            Error::bad_input(format!(
                "{name} is damaged or truncated (its checksum does not match and it does not decrypt); \
                 copy the backup again from the phone"
            ))
        });
    }
    let finished = match inflate_error {
        Some(e) => Err(e),
        None => inflate.finish().and_then(|mut w| w.flush()),
    };
    finished.map_err(|e| Error::bad_input(format!("{name} decrypted but its contents are damaged ({e})")))
}

/// The key, IV and ciphertext start of a crypt14/crypt15 file, from its
/// BackupPrefix, or why `key` cannot open it.
fn prefix_layout(head: &[u8], key: &Key, name: &str) -> Result<Layout> {
    let (prefix, start) = parse_prefix(head).ok_or_else(|| {
        Error::bad_input(format!(
            "{name} does not start with a crypt12, crypt14 or crypt15 header; it is damaged or not a WhatsApp backup"
        ))
    })?;
    let (aes, iv, kind) = match (prefix.key_type, &prefix.c15_iv, &prefix.c14_cipher, key) {
        (1, Some(c15), _, Key::Root(root)) => (Key::crypt15_aes(root), c15.iv.clone(), "crypt15"),
        (1, Some(_), _, Key::KeyFile { .. }) => {
            return Err(Error::wrong_key(format!(
                "{name} is an end-to-end (crypt15) backup; it opens with the 64-digit key you saved when \
                 turning on end-to-end backups, not with a crypt12/14 `key` file"
            )))
        }
        (_, _, Some(c14), Key::KeyFile { aes, server_salt }) => {
            if c14.server_salt != server_salt {
                return Err(Error::wrong_key(format!(
                    "the key file belongs to another account or backup than {name} (its server salt differs); \
                     use the `key` file from the phone that made this backup"
                )));
            }
            (*aes, c14.iv.clone(), "crypt14")
        }
        (_, _, Some(_), Key::Root(_)) => {
            return Err(Error::wrong_key(format!(
                "{name} is a crypt14 backup; it opens with the `key` file from /data/data/com.whatsapp/files, \
                 not with a 64-digit end-to-end key"
            )))
        }
        _ => {
            return Err(Error::unsupported(format!(
                "{name} has a backup header this version of chatferry does not know"
            )))
        }
    };
    let iv: [u8; 16] = iv.as_slice().try_into().map_err(|_| {
        Error::bad_input(format!("{name} is damaged: its header holds an IV of {} bytes, not 16", iv.len()))
    })?;
    Ok(Layout { aes, iv, kind, start: start as u64, trailer: 0, md5_always: false })
}

/// For the fuzz target `whatsapp_backup` (fuzz/): `bytes` as a key file
/// and as a backup, decrypted with a key of each kind (all zero, so the
/// fuzzer can reach a crypt12/14 header whose salt matches).
#[doc(hidden)]
pub fn fuzz_backup(bytes: &[u8]) {
    use std::sync::OnceLock;
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let _ = Key::parse(bytes);
    let _ = looks_encrypted(bytes);
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder for the fuzz target")).path();
    let (input, out) = (dir.join("msgstore.db.crypt15"), dir.join("msgstore.db"));
    std::fs::write(&input, bytes).expect("write the fuzz input");
    for key in [Key::Root([0; 32]), Key::KeyFile { server_salt: [0; 32], aes: [0; 32] }] {
        let _ = decrypt_file(&input, &key, &out);
    }
}

/// Counts what passes into an MD5 on its way to the file.
struct Md5Writer<W: Write> {
    inner: W,
    md5: Md5,
}

impl<W: Write> Write for Md5Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Encrypts what is written through it.
struct GcmWriter<W: Write> {
    inner: W,
    gcm: crate::gcm::GcmStream,
    buf: Vec<u8>,
}

impl<W: Write> Write for GcmWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.clear();
        self.buf.extend_from_slice(data);
        self.gcm.encrypt(&mut self.buf);
        self.inner.write_all(&self.buf)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Encrypts the SQLite file `db` as a crypt15 backup at `out`, for the
/// owner whose phone number ends in `jid_suffix`. Streams: compress →
/// encrypt → checksum → file.
pub fn encrypt_crypt15(db: &Path, root: &[u8; 32], jid_suffix: &str, iv: [u8; 16], out: &Path) -> Result<()> {
    let prefix = BackupPrefix { key_type: 1, c14_cipher: None, c15_iv: Some(C15Iv { iv: iv.to_vec() }), info: None };
    let mut proto = prefix.encode_to_vec();
    proto.extend(encode_info(jid_suffix));
    let n = u8::try_from(proto.len()).map_err(|_| Error::internal("backup header longer than 255 bytes"))?;
    let io = |e: std::io::Error| Error::io(out, "write", e);

    let file = std::fs::File::create(out).map_err(io)?;
    let mut md5_out = Md5Writer { inner: std::io::BufWriter::with_capacity(CHUNK, file), md5: Md5::new() };
    md5_out.write_all(&[n, 0x01]).map_err(io)?;
    md5_out.write_all(&proto).map_err(io)?;
    let gcm = crate::gcm::GcmStream::new(&Key::crypt15_aes(root), &iv);
    let sealed = GcmWriter { inner: md5_out, gcm, buf: Vec::with_capacity(CHUNK) };
    let mut zlib = flate2::write::ZlibEncoder::new(sealed, flate2::Compression::new(1));
    let mut input = chatferry_core::small_file::open_regular(db).map_err(|e| Error::io(db, "read", e))?;
    std::io::copy(&mut input, &mut zlib).map_err(|e| Error::io(db, "compress and encrypt", e))?;
    let GcmWriter { inner: mut md5_out, gcm, .. } = zlib.finish().map_err(io)?;
    md5_out.write_all(&gcm.tag()).map_err(io)?;
    let digest = md5_out.md5.clone().finalize();
    md5_out.inner.write_all(&digest).map_err(io)?;
    md5_out.inner.flush().map_err(io)?;
    md5_out.inner.get_ref().sync_all().map_err(io)
}

/// Field 4 (info) of the prefix, with 2.22.5.13's feature flags.
fn encode_info(jid_suffix: &str) -> Vec<u8> {
    let mut info =
        BackupInfo { app_version: APP_VERSION.into(), jid_suffix: jid_suffix.into(), backup_version: 0, f5: vec![] }
            .encode_to_vec();
    // backup_version 0 is not written by prost (proto3 default); the real
    // header has it explicitly, followed by the flags.
    prost::encoding::encode_key(4, prost::encoding::WireType::Varint, &mut info);
    prost::encoding::encode_varint(0, &mut info);
    for (field, value) in FEATURES_2_22_5_13 {
        prost::encoding::encode_key(*field, prost::encoding::WireType::Varint, &mut info);
        prost::encoding::encode_varint(*value, &mut info);
    }
    let mut out = Vec::new();
    prost::encoding::encode_key(4, prost::encoding::WireType::LengthDelimited, &mut out);
    prost::encoding::encode_varint(info.len() as u64, &mut out);
    out.extend(info);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real backups of shared/'s wa-crypt-tools folder (`None`, and a
    /// line saying `test` was skipped, without shared/).
    fn real_backups(test: &str) -> Option<std::path::PathBuf> {
        chatferry_core::testing::public_fixture("whatsapp/wa-crypt-tools", test)
    }

    #[test]
    fn reads_every_key_form() {
        let Some(base) = real_backups("reads_every_key_form") else { return };
        let fixture = |name: &str| base.join(name);
        let Key::Root(root) = Key::from_file(&fixture("encrypted_backup.key")).unwrap() else { panic!() };
        assert_eq!(hex::encode(root), "6730a595a1484d0c39c101dc0ac82ec5e401bb6f0e1b8ee2dc104a6b3687f017");
        let spaced = "6730 a595 a148 4d0c 39c1 01dc 0ac8 2ec5\ne401 bb6f 0e1b 8ee2 dc10 4a6b 3687 f017\n";
        assert!(matches!(Key::parse(spaced.as_bytes()), Ok(Key::Root(r)) if r == root));
        assert!(matches!(Key::from_file(&fixture("key")).unwrap(), Key::KeyFile { .. }));
        assert!(Key::parse(b"1234").unwrap_err().contains("hex digits"));
    }

    #[test]
    fn decrypts_the_real_crypt12_crypt14_and_crypt15_byte_identically() {
        let Some(base) = real_backups("decrypts_the_real_crypt12_crypt14_and_crypt15_byte_identically") else { return };
        let fixture = |name: &str| base.join(name);
        let want = std::fs::read(fixture("msgstore.db")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (file, key) in [
            ("msgstore.db.crypt15", "encrypted_backup.key"),
            ("msgstore.db.crypt14", "key"),
            ("msgstore-noexpiry.db.crypt14", "key"),
            ("msgstore.db.crypt12", "key"),
        ] {
            let out = dir.path().join(file);
            decrypt_file(&fixture(file), &Key::from_file(&fixture(key)).unwrap(), &out).unwrap();
            assert!(std::fs::read(&out).unwrap() == want, "{file} did not decrypt to msgstore.db");
        }
    }

    #[test]
    fn wrong_keys_and_damage_are_told_apart() {
        let Some(base) = real_backups("wrong_keys_and_damage_are_told_apart") else { return };
        let fixture = |name: &str| base.join(name);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.db");
        let other = Key::Root([7u8; 32]);
        let e = decrypt_file(&fixture("msgstore.db.crypt15"), &other, &out).unwrap_err();
        assert_eq!(e.kind, chatferry_core::ErrorKind::WrongKey, "{e}");
        let e =
            decrypt_file(&fixture("msgstore.db.crypt15"), &Key::from_file(&fixture("key")).unwrap(), &out).unwrap_err();
        assert!(e.message.contains("64-digit"), "{e}");
        let e = decrypt_file(
            &fixture("msgstore.db.crypt14"),
            &Key::from_file(&fixture("encrypted_backup.key")).unwrap(),
            &out,
        )
        .unwrap_err();
        assert!(e.message.contains("crypt14"), "{e}");

        let mut bytes = std::fs::read(fixture("msgstore.db.crypt15")).unwrap();
        bytes.truncate(bytes.len() / 2);
        let cut = dir.path().join("cut.crypt15");
        std::fs::write(&cut, &bytes).unwrap();
        let e = decrypt_file(&cut, &Key::from_file(&fixture("encrypted_backup.key")).unwrap(), &out).unwrap_err();
        assert_eq!(e.kind, chatferry_core::ErrorKind::BadInput);
        assert!(e.message.contains("damaged or truncated"), "{e}");
    }

    #[test]
    fn our_crypt15_header_matches_the_real_one_and_round_trips() {
        let Some(base) = real_backups("our_crypt15_header_matches_the_real_one_and_round_trips") else { return };
        let fixture = |name: &str| base.join(name);
        let dir = tempfile::tempdir().unwrap();
        let key = Key::from_file(&fixture("encrypted_backup.key")).unwrap();
        let Key::Root(root) = key.clone() else { panic!() };
        let real = std::fs::read(fixture("msgstore.db.crypt15")).unwrap();
        let iv: [u8; 16] = real[8..24].try_into().unwrap();
        let out = dir.path().join("ours.crypt15");
        encrypt_crypt15(&fixture("msgstore.db"), &root, "67", iv, &out).unwrap();
        let ours = std::fs::read(&out).unwrap();
        // Same key and IV: the header (length, flag, BackupPrefix) is WhatsApp's,
        // byte for byte. The body differs only in how the zlib stream was
        // compressed (a different deflate implementation), which is why we
        // check it by decrypting.
        let header = 2 + real[0] as usize;
        assert_eq!(ours[..header], real[..header], "our crypt15 header differs from WhatsApp's");
        let (body, md5) = ours.split_at(ours.len() - 16);
        assert_eq!(Md5::digest(body).as_slice(), md5, "MD5 trailer");
        let back = dir.path().join("back.db");
        decrypt_file(&out, &key, &back).unwrap();
        assert!(std::fs::read(back).unwrap() == std::fs::read(fixture("msgstore.db")).unwrap());
    }
}
