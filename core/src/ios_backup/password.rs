//! Where the password of an encrypted backup comes from: a file named by an
//! option, an environment variable, or a prompt without echo when chatferry
//! runs in a terminal. Never an option's value (it would stay in the shell's
//! history and in `ps`), never in a log, report or error.

use crate::{Error, Result};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// A password, zeroed when dropped.
pub type Password = Zeroizing<Vec<u8>>;

/// Which backup a password is for, and where to look for it.
#[derive(Debug, Clone)]
pub struct PasswordSource {
    /// The option naming the file (`backup-password-file`), and its value.
    pub option: &'static str,
    pub file: Option<PathBuf>,
    /// Environment variables tried in order.
    pub env: &'static [&'static str],
    /// "backup" or "template backup", for the prompt and errors.
    pub what: &'static str,
}

impl PasswordSource {
    /// The password of the backup being read (`--opt backup-password-file=`).
    pub fn for_reading(options: &crate::Options) -> PasswordSource {
        PasswordSource {
            option: "backup-password-file",
            file: options.path("backup-password-file"),
            env: &["CHATFERRY_BACKUP_PASSWORD"],
            what: "backup",
        }
    }

    /// The password of the new iPhone's backup written into
    /// (`--opt template-password-file=`).
    pub fn for_template(options: &crate::Options) -> PasswordSource {
        PasswordSource {
            option: "template-password-file",
            file: options.path("template-password-file"),
            env: &["CHATFERRY_TEMPLATE_PASSWORD", "CHATFERRY_BACKUP_PASSWORD"],
            what: "template backup",
        }
    }

    /// The password for `backup`.
    pub fn get(&self, backup: &Path) -> Result<Password> {
        if let Some(file) = &self.file {
            let bytes = crate::small_file::read(file, "the password file", 4096)?;
            // A file written by an editor or `echo` ends with a newline that is
            // not part of the password.
            let mut end = bytes.len();
            while end > 0 && matches!(bytes[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            if end == 0 {
                return Err(Error::usage(format!("the password file {} is empty", file.display())));
            }
            return Ok(Zeroizing::new(bytes[..end].to_vec()));
        }
        for var in self.env {
            if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
                use std::os::unix::ffi::OsStrExt;
                return Ok(Zeroizing::new(v.as_bytes().to_vec()));
            }
        }
        if std::io::stdin().is_terminal() {
            let typed = rpassword::prompt_password(format!("password of the {} {}: ", self.what, backup.display()))
                .map_err(|e| Error::io(Path::new("the terminal"), "read the password from", e))?;
            let typed = Zeroizing::new(typed.into_bytes());
            if typed.is_empty() {
                return Err(Error::usage("no password was typed"));
            }
            return Ok(typed);
        }
        Err(Error::usage(format!(
            "{} is an encrypted iPhone backup and needs its password: put it alone in a file and give \
             --opt {}=FILE, or set {}, or run chatferry in a terminal to be asked for it",
            backup.display(),
            self.option,
            self.env[0]
        )))
    }
}

/// The options of an adapter that reads or writes encrypted backups.
pub fn password_options() -> Vec<crate::OptionSpec> {
    use crate::{OptionKind, OptionSpec};
    vec![
        OptionSpec::new(
            "backup-password-file",
            OptionKind::Path,
            "a file holding only the password of the encrypted iPhone backup read (or set \
             CHATFERRY_BACKUP_PASSWORD, or be asked in a terminal); never give the password itself",
        )
        .import_only(),
        OptionSpec::new(
            "template-password-file",
            OptionKind::Path,
            "a file holding only the password of an encrypted template backup (or set \
             CHATFERRY_TEMPLATE_PASSWORD, or be asked in a terminal); the new backup keeps that password",
        )
        .export_only(),
    ]
}
