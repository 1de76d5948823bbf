//! Errors that cross every boundary: plugin ABI, host, archive.
//!
//! An error carries a kind (so the host can decide the exit status and what to
//! suggest) and a message written for the person running chatferry: it says
//! what is wrong and, where possible, what to do about it.

use std::fmt;
use std::path::Path;

/// What went wrong, coarsely. Frozen within an ABI major (it crosses the
/// plugin boundary as a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is not what the adapter reads, or is corrupt or truncated.
    BadInput,
    /// A key, password, IMEI or uin did not open the data.
    WrongKey,
    /// A schema or file version this adapter does not know.
    Unsupported,
    /// Reading or writing a file failed.
    Io,
    /// The request itself is wrong (unknown option, missing option value…).
    Usage,
    /// A bug: a plugin panicked or broke the contract.
    Internal,
}

impl ErrorKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            ErrorKind::BadInput => 1,
            ErrorKind::WrongKey => 2,
            ErrorKind::Unsupported => 3,
            ErrorKind::Io => 4,
            ErrorKind::Usage => 5,
            ErrorKind::Internal => 6,
        }
    }

    pub(crate) fn from_code(code: u8) -> ErrorKind {
        match code {
            1 => ErrorKind::BadInput,
            2 => ErrorKind::WrongKey,
            3 => ErrorKind::Unsupported,
            4 => ErrorKind::Io,
            5 => ErrorKind::Usage,
            _ => ErrorKind::Internal,
        }
    }
}

/// An error with a kind and a one-line, actionable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: one_line(&message.into()) }
    }
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::BadInput, message)
    }
    pub fn wrong_key(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::WrongKey, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unsupported, message)
    }
    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Usage, message)
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }
    /// An I/O failure on `path`, saying which file and what the system said.
    pub fn io(path: &Path, action: &str, err: std::io::Error) -> Error {
        if err.kind() == std::io::ErrorKind::PermissionDenied {
            return Error::permission_denied(path);
        }
        Error::new(ErrorKind::Io, format!("cannot {action} {}: {err}", path.display()))
    }

    /// `permission denied: PATH`, with what to do about it.
    pub fn permission_denied(path: &Path) -> Error {
        let hint = if path.to_string_lossy().contains("MobileSync") {
            "on macOS the terminal needs Full Disk Access to read ~/Library/Application Support/MobileSync/Backup \
             (System Settings → Privacy & Security → Full Disk Access)"
        } else {
            "chatferry may not read or write it: check its permissions, or copy it to a folder of your own"
        };
        Error::new(ErrorKind::Io, format!("permission denied: {} ({hint})", path.display()))
    }

    /// `Some(permission denied)` when `path`, or a folder on the way to it,
    /// may not be read: for telling that apart from "not there" or "not a
    /// database", which is what a failed open looks like otherwise.
    pub fn if_unreadable(path: &Path) -> Option<Error> {
        let denied = |r: std::io::Result<()>| matches!(r, Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied);
        let mut at = Some(path);
        while let Some(p) = at {
            let check = match std::fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => std::fs::read_dir(p).map(drop),
                Ok(_) => crate::small_file::open_regular(p).map(drop),
                Err(e) => Err(e),
            };
            if denied(check) {
                return Some(Error::permission_denied(p));
            }
            if std::fs::symlink_metadata(p).is_ok() {
                return None;
            }
            at = p.parent().filter(|q| !q.as_os_str().is_empty());
        }
        None
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Messages are printed as one line after `chatferry:`; fold any newlines a
/// library put into its error text.
fn one_line(message: &str) -> String {
    if !message.contains('\n') {
        return message.to_string();
    }
    message.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_survive_their_codes() {
        for kind in [
            ErrorKind::BadInput,
            ErrorKind::WrongKey,
            ErrorKind::Unsupported,
            ErrorKind::Io,
            ErrorKind::Usage,
            ErrorKind::Internal,
        ] {
            assert_eq!(ErrorKind::from_code(kind.code()), kind);
        }
        assert_eq!(ErrorKind::from_code(200), ErrorKind::Internal);
    }

    #[test]
    fn messages_are_folded_to_one_line() {
        let e = Error::bad_input("first\n  second\n\nthird");
        assert_eq!(e.message, "first; second; third");
    }
}

/// `text` for an error message: whole when short, else its first `max`
/// characters and how long it was, so a crafted 65,000-byte name is not
/// quoted in full.
pub fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
    }
}

#[cfg(test)]
mod shortened_tests {
    #[test]
    fn long_values_are_cut_at_a_character() {
        assert_eq!(super::shortened("abc", 3), "abc");
        assert_eq!(super::shortened("历史记录", 2), "历史… (12 bytes in all)");
    }
}
