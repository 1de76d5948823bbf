//! The `BackupKeyBag` of an encrypted backup's Manifest.plist
//! (shared/formats/ios-encrypted-backup.md §3): TLV records (4-byte tag,
//! 4-byte big-endian length, value), a header (`VERS`, `TYPE`, `SALT`,
//! `ITER`, and since iOS 10.2 `DPSL`/`DPIC`), then one record per
//! protection class starting at each later `UUID`, holding its key wrapped
//! (RFC 3394) with the key derived from the backup password.

use aes_kw::KekAes256;
use zeroize::Zeroizing;

/// A 256-bit key, zeroed when dropped.
pub type Key = Zeroizing<[u8; 32]>;

/// Real keybags are about 1.5 KB; anything larger is not one.
const MAX_KEYBAG: usize = 64 << 10;
/// Keybag versions seen in backups (iOS 4 to today's 5).
const KNOWN_VERSIONS: std::ops::RangeInclusive<u32> = 2..=5;
/// `TYPE` of a backup keybag (0 is the device's, 2 escrow, 3 over-the-air).
const BACKUP_TYPE: u32 = 1;
/// `WRAP` bit: the class key is wrapped with the password key.
const WRAP_PASSCODE: u32 = 2;
/// Round counts above these are not a backup's: refused rather than
/// spending a minute per password try on a crafted keybag. iPhones use
/// 10,000,000 SHA-256 rounds (DPIC, since iOS 10.2) and 10,000 SHA-1
/// rounds (ITER); a real backup's password takes about 2 s.
const MAX_SHA256_ROUNDS: u32 = 20_000_000;
const MAX_SHA1_ROUNDS: u32 = 1_000_000;

#[derive(Debug)]
struct ClassRecord {
    class: u32,
    wrap: u32,
    wrapped: Vec<u8>,
}

/// A parsed keybag (nothing secret in it until unlocked).
#[derive(Debug)]
pub struct Keybag {
    pub version: u32,
    salt: Vec<u8>,
    iterations: u32,
    /// The SHA-256 stage (iOS 10.2 and later): salt and rounds.
    dp: Option<(Vec<u8>, u32)>,
    classes: Vec<ClassRecord>,
}

/// The class keys of an unlocked keybag.
pub struct ClassKeys(Vec<(u32, Key)>);

fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.try_into().ok()?))
}

impl Keybag {
    /// Parses the keybag; `Err` says in a few words what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Keybag, String> {
        if bytes.len() > MAX_KEYBAG {
            return Err(format!("its keybag is {} bytes, larger than any backup's", bytes.len()));
        }
        let mut bag = Keybag { version: 0, salt: Vec::new(), iterations: 0, dp: None, classes: Vec::new() };
        let (mut dpsl, mut dpic) = (None, None);
        let mut uuids = 0;
        let mut current: Option<ClassRecord> = None;
        let mut rest = bytes;
        while !rest.is_empty() {
            if rest.len() < 8 {
                return Err("its keybag ends inside a record".into());
            }
            let tag = &rest[..4];
            let len = be32(&rest[4..8]).expect("4 bytes") as usize;
            if len > rest.len() - 8 {
                return Err("its keybag has a record longer than the keybag".into());
            }
            let value = &rest[8..8 + len];
            rest = &rest[8 + len..];
            let number = || be32(value).ok_or_else(|| format!("its keybag's {} is not a number", show(tag)));
            match tag {
                b"UUID" => {
                    uuids += 1;
                    if uuids > 1 {
                        bag.classes.extend(current.take());
                        current = Some(ClassRecord { class: 0, wrap: 0, wrapped: Vec::new() });
                    }
                }
                b"CLAS" | b"WRAP" | b"WPKY" if current.is_some() => {
                    let c = current.as_mut().expect("in a class");
                    match tag {
                        b"CLAS" => c.class = number()?,
                        b"WRAP" => c.wrap = number()?,
                        _ => c.wrapped = value.to_vec(),
                    }
                }
                b"VERS" => bag.version = number()?,
                b"TYPE" if number()? != BACKUP_TYPE => {
                    return Err(format!("its keybag is of type {}, not a backup keybag (type 1)", number()?));
                }
                b"SALT" => bag.salt = value.to_vec(),
                b"ITER" => bag.iterations = number()?,
                b"DPSL" => dpsl = Some(value.to_vec()),
                b"DPIC" => dpic = Some(number()?),
                _ => {}
            }
        }
        bag.classes.extend(current);
        if !KNOWN_VERSIONS.contains(&bag.version) {
            return Err(format!(
                "its keybag is version {}, which chatferry does not know (it reads 2 to 5)",
                bag.version
            ));
        }
        if bag.salt.is_empty() || bag.iterations == 0 {
            return Err("its keybag has no password salt or iteration count".into());
        }
        bag.dp = match (dpsl, dpic) {
            (Some(s), Some(n)) => Some((s, n)),
            (None, None) => None,
            _ => return Err("its keybag has only half of the iOS 10.2 password parameters (DPSL, DPIC)".into()),
        };
        if bag.iterations > MAX_SHA1_ROUNDS || bag.dp.as_ref().is_some_and(|(_, n)| *n > MAX_SHA256_ROUNDS) {
            return Err("its keybag asks for more password rounds than any iPhone uses".into());
        }
        if !bag.classes.iter().any(|c| c.wrap & WRAP_PASSCODE != 0) {
            return Err("its keybag holds no class key wrapped with the backup password".into());
        }
        Ok(bag)
    }

    /// The rounds the password takes (for the progress line): both stages.
    pub fn rounds(&self) -> u64 {
        self.iterations as u64 + self.dp.as_ref().map_or(0, |(_, n)| *n as u64)
    }

    /// The key the password derives (PBKDF2-SHA256 with DPSL/DPIC since iOS
    /// 10.2, then PBKDF2-SHA1 with SALT/ITER).
    pub fn password_key(&self, password: &[u8]) -> Key {
        let mut first = Zeroizing::new([0u8; 32]);
        let input: &[u8] = match &self.dp {
            Some((salt, rounds)) => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, *rounds, first.as_mut());
                first.as_ref()
            }
            None => password,
        };
        let mut key = Zeroizing::new([0u8; 32]);
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(input, &self.salt, self.iterations, key.as_mut());
        key
    }

    /// The class keys, or `None` when `password_key` does not unwrap them
    /// (a wrong password: RFC 3394's integrity check fails).
    pub fn unlock(&self, password_key: &Key) -> Option<ClassKeys> {
        let kek = kek(password_key);
        let mut keys = Vec::new();
        for c in self.classes.iter().filter(|c| c.wrap & WRAP_PASSCODE != 0) {
            let mut key = Zeroizing::new([0u8; 32]);
            if c.wrapped.len() != 40 || kek.unwrap(&c.wrapped, key.as_mut()).is_err() {
                return None;
            }
            keys.push((c.class, key));
        }
        Some(ClassKeys(keys))
    }
}

/// A key-wrapping key, used in place (no unzeroed copy of the key).
fn kek(key: &Key) -> KekAes256 {
    KekAes256::new(aes::cipher::generic_array::GenericArray::from_slice(&key[..]))
}

fn show(tag: &[u8]) -> String {
    String::from_utf8_lossy(tag).into_owned()
}

impl ClassKeys {
    fn get(&self, class: u32) -> Option<&Key> {
        self.0.iter().find(|(c, _)| *c == class).map(|(_, k)| k)
    }

    /// A file's (or the manifest's) key from its 40-byte wrapped form;
    /// `Err` says why it cannot be unwrapped.
    pub fn unwrap(&self, class: u32, wrapped: &[u8]) -> Result<Key, String> {
        let kek_key =
            self.get(class).ok_or_else(|| format!("its protection class {class} has no key in the keybag"))?;
        let mut key = Zeroizing::new([0u8; 32]);
        if wrapped.len() != 40 {
            return Err(format!("its wrapped key is {} bytes, not 40", wrapped.len()));
        }
        kek(kek_key)
            .unwrap(wrapped, key.as_mut())
            .map_err(|_| format!("its key does not unwrap with protection class {class}'s key"))?;
        Ok(key)
    }

    /// `key` wrapped with `class`'s key (40 bytes), for a new file record.
    pub fn wrap(&self, class: u32, key: &Key) -> Result<[u8; 40], String> {
        let kek_key = self.get(class).ok_or_else(|| format!("protection class {class} has no key in the keybag"))?;
        let mut out = [0u8; 40];
        kek(kek_key).wrap(key.as_ref(), &mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// A fresh random 256-bit key from the operating system.
pub fn random_key() -> Result<Key, String> {
    let mut key = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(key.as_mut()).map_err(|e| format!("the system's random number generator failed: {e}"))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: &[u8; 4], value: &[u8]) -> Vec<u8> {
        let mut v = tag.to_vec();
        v.extend((value.len() as u32).to_be_bytes());
        v.extend(value);
        v
    }

    /// A keybag with class keys `0x11…` (class 1) and `0x33…` (class 3)
    /// wrapped with the key `password` derives in `rounds` rounds.
    fn keybag(password: &[u8], rounds: u32, version: u32) -> Vec<u8> {
        let mut header = Vec::new();
        header.extend(tlv(b"VERS", &version.to_be_bytes()));
        header.extend(tlv(b"TYPE", &1u32.to_be_bytes()));
        header.extend(tlv(b"UUID", &[7; 16]));
        header.extend(tlv(b"WRAP", &0u32.to_be_bytes()));
        header.extend(tlv(b"SALT", &[1; 20]));
        header.extend(tlv(b"ITER", &rounds.to_be_bytes()));
        header.extend(tlv(b"DPWT", &1u32.to_be_bytes()));
        header.extend(tlv(b"DPIC", &rounds.to_be_bytes()));
        header.extend(tlv(b"DPSL", &[2; 20]));
        if version == 5 {
            let refused = Keybag::parse(&header).unwrap_err();
            assert!(refused.contains("no class key"), "{refused}");
        }
        let probe = Keybag {
            version,
            salt: vec![1; 20],
            iterations: rounds,
            dp: Some((vec![2; 20], rounds)),
            classes: Vec::new(),
        };
        let pk = probe.password_key(password);
        let kek = kek(&pk);
        for (class, byte) in [(1u32, 0x11u8), (3, 0x33)] {
            let mut wrapped = [0u8; 40];
            kek.wrap(&[byte; 32], &mut wrapped).unwrap();
            header.extend(tlv(b"UUID", &[class as u8; 16]));
            header.extend(tlv(b"CLAS", &class.to_be_bytes()));
            header.extend(tlv(b"WRAP", &3u32.to_be_bytes()));
            header.extend(tlv(b"KTYP", &0u32.to_be_bytes()));
            header.extend(tlv(b"WPKY", &wrapped));
        }
        header
    }

    #[test]
    fn the_right_password_unlocks_the_class_keys_and_a_wrong_one_does_not() {
        let bag = Keybag::parse(&keybag(b"0000", 10, 5)).unwrap();
        assert_eq!(bag.rounds(), 20);
        let keys = bag.unlock(&bag.password_key(b"0000")).expect("right password");
        assert_eq!(*keys.get(3).unwrap().as_ref(), [0x33; 32]);
        assert!(bag.unlock(&bag.password_key(b"0001")).is_none());
        // A file key wraps and unwraps with its class key.
        let file_key = random_key().unwrap();
        let wrapped = keys.wrap(3, &file_key).unwrap();
        assert_eq!(*keys.unwrap(3, &wrapped).unwrap(), *file_key);
        assert!(keys.unwrap(1, &wrapped).unwrap_err().contains("does not unwrap"));
        assert!(keys.unwrap(9, &wrapped).unwrap_err().contains("class 9 has no key"));
    }

    #[test]
    fn damaged_and_unknown_keybags_are_refused_in_words() {
        let good = keybag(b"x", 1, 5);
        assert!(Keybag::parse(&keybag(b"x", 1, 9)).unwrap_err().contains("version 9"));
        assert!(Keybag::parse(&good[..good.len() - 3]).unwrap_err().contains("longer than the keybag"));
        assert!(Keybag::parse(&good[..5]).unwrap_err().contains("ends inside"));
        let mut other = good.clone();
        other[23] = 0; // TYPE 1 → 0 (the last byte of the second record)
        assert!(Keybag::parse(&other).unwrap_err().contains("type 0"), "{:?}", Keybag::parse(&other));
        assert!(Keybag::parse(&vec![0; MAX_KEYBAG + 1]).unwrap_err().contains("larger"));
        // Each stage is held near what phones use: 100,000,000 rounds were
        // let through, about a minute per password try.
        let with = |tag: &[u8; 4], rounds: u32| {
            let mut bag = good.clone();
            let at = bag.windows(4).position(|w| w == tag).unwrap() + 8;
            bag[at..at + 4].copy_from_slice(&rounds.to_be_bytes());
            Keybag::parse(&bag)
        };
        assert!(with(b"ITER", MAX_SHA1_ROUNDS + 1).unwrap_err().contains("more password rounds"));
        assert!(with(b"DPIC", MAX_SHA256_ROUNDS + 1).unwrap_err().contains("more password rounds"));
        assert!(with(b"DPIC", 10_000_000).is_ok() && with(b"ITER", 10_000).is_ok(), "a phone's counts pass");
    }

    #[test]
    fn pbkdf2_matches_the_rfc_test_vectors() {
        // RFC 6070 (PBKDF2-HMAC-SHA1), 2 rounds, first 20 bytes.
        let mut out = [0u8; 20];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(b"password", b"salt", 2, &mut out);
        assert_eq!(hex::encode(out), "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    }
}
