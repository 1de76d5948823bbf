//! WhatsApp's encrypted backups: crypt14 (key file) and crypt15 (end-to-end
//! key) decryption, and crypt15 encryption. Layout (shared/formats/whatsapp.md §2):
//!
//! `[N][0x01 flag, optional][N bytes BackupPrefix protobuf][AES-256-GCM ciphertext][16-byte tag][16-byte MD5 of all before]`
//!
//! The plaintext is a zlib stream of the SQLite file.

use chatferry_core::{Error, Result};
use hkdf::Hkdf;
use md5::{Digest, Md5};
use prost::Message;
use sha2::Sha256;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::generic_array::typenum::U16;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;

/// AES-256-GCM with WhatsApp's 16-byte nonce.
type Cipher = AesGcm<Aes256, U16>;

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
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read the key file", e))?;
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
    parse_prefix(head).is_some()
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

/// Decrypts a crypt14/crypt15 file into `out` (the SQLite file).
///
/// The ciphertext is held in memory while GCM verifies it (the aes-gcm
/// crate has no streaming API); the inflated database is streamed to disk.
pub fn decrypt_file(input: &Path, key: &Key, out: &Path) -> Result<()> {
    let name = input.display();
    let mut data = std::fs::read(input).map_err(|e| Error::io(input, "read", e))?;
    let (prefix, start) = parse_prefix(&data).ok_or_else(|| {
        Error::bad_input(format!(
            "{name} does not start with a crypt14/crypt15 header; it is damaged or not a WhatsApp backup"
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
    if data.len() < start + 32 {
        return Err(Error::bad_input(format!("{name} is truncated: it ends inside its header")));
    }
    // Single-file backups end with an MD5 of everything before it.
    let md5_ok = {
        let (body, trailer) = data.split_at(data.len() - 16);
        Md5::digest(body).as_slice() == trailer
    };
    let end = if md5_ok { data.len() - 16 } else { data.len() };
    let tag = GenericArray::clone_from_slice(&data[end - 16..end]);
    let cipher = Cipher::new(GenericArray::from_slice(&aes));
    let nonce = GenericArray::from_slice(&iv);
    let ciphertext = &mut data[start..end - 16];
    if cipher.decrypt_in_place_detached(nonce, b"", ciphertext, &tag).is_err() {
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
    let file = std::fs::File::create(out).map_err(|e| Error::io(out, "create", e))?;
    let mut writer = flate2::write::ZlibDecoder::new(std::io::BufWriter::new(file));
    writer
        .write_all(ciphertext)
        .and_then(|_| writer.try_finish())
        .map_err(|e| Error::bad_input(format!("{name} decrypted but its contents are damaged ({e})")))?;
    let mut file = writer.finish().map_err(|e| Error::io(out, "write", e))?;
    file.flush().map_err(|e| Error::io(out, "write", e))?;
    Ok(())
}

/// Encrypts the SQLite file `db` as a crypt15 backup at `out`, for the
/// owner whose phone number ends in `jid_suffix`.
pub fn encrypt_crypt15(db: &Path, root: &[u8; 32], jid_suffix: &str, iv: [u8; 16], out: &Path) -> Result<()> {
    let plain = std::fs::read(db).map_err(|e| Error::io(db, "read", e))?;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(1));
    z.write_all(&plain).map_err(|e| Error::internal(format!("compressing the database failed: {e}")))?;
    let mut body = z.finish().map_err(|e| Error::internal(format!("compressing the database failed: {e}")))?;
    drop(plain);

    let prefix = BackupPrefix { key_type: 1, c14_cipher: None, c15_iv: Some(C15Iv { iv: iv.to_vec() }), info: None };
    let mut proto = prefix.encode_to_vec();
    proto.extend(encode_info(jid_suffix));
    let n = u8::try_from(proto.len()).map_err(|_| Error::internal("backup header longer than 255 bytes"))?;

    let aes = Key::crypt15_aes(root);
    let cipher = Cipher::new(GenericArray::from_slice(&aes));
    let tag = cipher
        .encrypt_in_place_detached(GenericArray::from_slice(&iv), b"", &mut body)
        .map_err(|_| Error::internal("AES-GCM encryption failed"))?;

    let mut file_bytes = Vec::with_capacity(2 + proto.len() + body.len() + 32);
    file_bytes.push(n);
    file_bytes.push(0x01);
    file_bytes.extend(&proto);
    file_bytes.extend(&body);
    file_bytes.extend(tag.as_slice());
    let md5 = Md5::digest(&file_bytes);
    file_bytes.extend(md5.as_slice());
    std::fs::write(out, file_bytes).map_err(|e| Error::io(out, "write", e))
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

    const FIXTURES: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/public/whatsapp/wa-crypt-tools");

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(FIXTURES).join(name)
    }

    #[test]
    fn reads_every_key_form() {
        let Key::Root(root) = Key::from_file(&fixture("encrypted_backup.key")).unwrap() else { panic!() };
        assert_eq!(hex::encode(root), "6730a595a1484d0c39c101dc0ac82ec5e401bb6f0e1b8ee2dc104a6b3687f017");
        let spaced = "6730 a595 a148 4d0c 39c1 01dc 0ac8 2ec5\ne401 bb6f 0e1b 8ee2 dc10 4a6b 3687 f017\n";
        assert!(matches!(Key::parse(spaced.as_bytes()), Ok(Key::Root(r)) if r == root));
        assert!(matches!(Key::from_file(&fixture("key")).unwrap(), Key::KeyFile { .. }));
        assert!(Key::parse(b"1234").unwrap_err().contains("hex digits"));
    }

    #[test]
    fn decrypts_the_real_crypt14_and_crypt15_byte_identically() {
        let want = std::fs::read(fixture("msgstore.db")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (file, key) in [
            ("msgstore.db.crypt15", "encrypted_backup.key"),
            ("msgstore.db.crypt14", "key"),
            ("msgstore-noexpiry.db.crypt14", "key"),
        ] {
            let out = dir.path().join(file);
            decrypt_file(&fixture(file), &Key::from_file(&fixture(key)).unwrap(), &out).unwrap();
            assert!(std::fs::read(&out).unwrap() == want, "{file} did not decrypt to msgstore.db");
        }
    }

    #[test]
    fn wrong_keys_and_damage_are_told_apart() {
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
