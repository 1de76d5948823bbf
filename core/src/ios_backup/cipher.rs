//! File contents of encrypted backups: AES-256-CBC with a zero IV and
//! PKCS#7 padding (shared/formats/ios-encrypted-backup.md §4–5), streamed
//! in chunks so that a 2 GB database never sits in memory.

use super::keybag::Key;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use aes::Aes256;
use std::io::{self, Read, Write};

type Decryptor = cbc::Decryptor<Aes256>;
type Encryptor = cbc::Encryptor<Aes256>;

/// Bytes handled at a time (a multiple of the block size).
const CHUNK: usize = 1 << 20;
const BLOCK: usize = 16;

/// Why a stream could not be decrypted.
#[derive(Debug)]
pub enum Failure {
    Io(io::Error),
    /// Not a whole number of blocks: cut short.
    Truncated,
    /// The last block's padding is not PKCS#7: a wrong key or damage.
    Padding,
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Io(e)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn decrypt_in_place(d: &mut Decryptor, buf: &mut [u8]) {
    let (blocks, tail) = aes::cipher::inout::InOutBuf::from(buf).into_chunks();
    debug_assert!(tail.is_empty());
    d.decrypt_blocks_inout_mut(blocks);
}

fn encrypt_in_place(e: &mut Encryptor, buf: &mut [u8]) {
    let (blocks, tail) = aes::cipher::inout::InOutBuf::from(buf).into_chunks();
    debug_assert!(tail.is_empty());
    e.encrypt_blocks_inout_mut(blocks);
}

/// How the end of a decrypted stream is treated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// PKCS#7, checked and removed (every file of a backup).
    Pkcs7,
    /// None: the plaintext is every byte (an unpadded Manifest.db).
    None,
}

/// Decrypts `r` into `w`; returns the plaintext length.
pub fn decrypt(key: &Key, mut r: impl Read, mut w: impl Write, padding: Padding) -> Result<u64, Failure> {
    let mut d = Decryptor::new(key.as_ref().into(), &[0u8; BLOCK].into());
    let mut buf = vec![0u8; CHUNK];
    // The last block is held back until the input ends: it carries the padding.
    let mut held = [0u8; BLOCK];
    let mut holding = false;
    let mut written = 0u64;
    loop {
        let n = read_full(&mut r, &mut buf)?;
        if n == 0 {
            break;
        }
        if n % BLOCK != 0 {
            return Err(Failure::Truncated);
        }
        decrypt_in_place(&mut d, &mut buf[..n]);
        if holding {
            w.write_all(&held)?;
            written += BLOCK as u64;
        }
        w.write_all(&buf[..n - BLOCK])?;
        written += (n - BLOCK) as u64;
        held.copy_from_slice(&buf[n - BLOCK..n]);
        holding = true;
        if n < CHUNK {
            break;
        }
    }
    if !holding {
        // An empty blob: an empty file (iOS stores some so).
        return Ok(0);
    }
    let keep = match padding {
        Padding::None => BLOCK,
        Padding::Pkcs7 => {
            let pad = held[BLOCK - 1] as usize;
            if pad == 0 || pad > BLOCK || held[BLOCK - pad..].iter().any(|&b| b as usize != pad) {
                return Err(Failure::Padding);
            }
            BLOCK - pad
        }
    };
    w.write_all(&held[..keep])?;
    Ok(written + keep as u64)
}

/// Encrypts `r` into `w` with PKCS#7 padding; returns the plaintext length.
pub fn encrypt(key: &Key, mut r: impl Read, mut w: impl Write) -> io::Result<u64> {
    let mut e = Encryptor::new(key.as_ref().into(), &[0u8; BLOCK].into());
    let mut buf = vec![0u8; CHUNK + BLOCK];
    let mut total = 0u64;
    loop {
        let n = read_full(&mut r, &mut buf[..CHUNK])?;
        total += n as u64;
        if n == CHUNK {
            encrypt_in_place(&mut e, &mut buf[..CHUNK]);
            w.write_all(&buf[..CHUNK])?;
            continue;
        }
        let pad = BLOCK - n % BLOCK;
        buf[n..n + pad].fill(pad as u8);
        encrypt_in_place(&mut e, &mut buf[..n + pad]);
        w.write_all(&buf[..n + pad])?;
        return Ok(total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    #[test]
    fn streams_round_trip_at_every_length_around_the_chunk_and_block_sizes() {
        let key = Zeroizing::new([9u8; 32]);
        for len in [0, 1, 15, 16, 17, CHUNK - 16, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 16] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut sealed = Vec::new();
            assert_eq!(encrypt(&key, &plain[..], &mut sealed).unwrap(), len as u64);
            assert_eq!(sealed.len(), (len / 16 + 1) * 16, "PKCS#7 always adds 1 to 16 bytes");
            let mut opened = Vec::new();
            assert_eq!(decrypt(&key, &sealed[..], &mut opened, Padding::Pkcs7).unwrap(), len as u64);
            assert!(opened == plain, "length {len}");
        }
    }

    #[test]
    fn a_known_vector_decrypts() {
        // NIST SP 800-38A F.2.5 (CBC-AES256), first block, with its IV folded
        // into the plaintext since backups use a zero IV.
        let key: [u8; 32] = hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .unwrap()
            .try_into()
            .unwrap();
        let iv = hex::decode("000102030405060708090a0b0c0d0e0f").unwrap();
        let plain = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        let xored: Vec<u8> = plain.iter().zip(&iv).map(|(a, b)| a ^ b).collect();
        let mut sealed = Vec::new();
        encrypt(&Zeroizing::new(key), &xored[..], &mut sealed).unwrap();
        assert_eq!(hex::encode(&sealed[..16]), "f58c4c04d6e5f1ba779eabfb5f7bfbd6");
    }

    #[test]
    fn truncated_and_wrongly_keyed_streams_are_refused() {
        let key = Zeroizing::new([1u8; 32]);
        let mut sealed = Vec::new();
        encrypt(&key, &b"Test data, more than one block long"[..], &mut sealed).unwrap();
        assert!(matches!(
            decrypt(&key, &sealed[..sealed.len() - 1], io::sink(), Padding::Pkcs7),
            Err(Failure::Truncated)
        ));
        let other = Zeroizing::new([2u8; 32]);
        assert!(matches!(decrypt(&other, &sealed[..], io::sink(), Padding::Pkcs7), Err(Failure::Padding)));
    }
}
