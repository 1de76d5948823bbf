//! The command line, as clap sees it.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "chatferry",
    version,
    about = "Move chat history between WhatsApp (Android, iPhone), WeChat (Android, iPhone) and Telegram exports, \
             or into pages you can read",
    long_about = "Moves chat history between messaging apps and phones: WhatsApp on Android and iPhone, WeChat on \
                  Android and iPhone, Telegram Desktop's export, WhatsApp's \"Export chat\" text. Reads one app's \
                  local store or backup, and writes it as another app's store, as an open archive, or as pages a \
                  person can read. Inputs are never modified; output appears only when complete.\n\n\
                  Start with `chatferry backups` (iPhone backups on this computer), `chatferry inspect PATH` (what a \
                  store or backup holds) and `chatferry convert --help`."
)]
pub struct Cli {
    /// No progress bar and no report on the terminal (errors are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// `convert --help`'s last part: the adapters and what people run.
pub(crate) const CONVERT_EXAMPLES: &str = "\
Adapters (`chatferry adapters` lists yours, with their options):
  whatsapp-android  WhatsApp on Android: msgstore.db, a .crypt12/14/15 backup, or a WhatsApp folder
  whatsapp-ios      WhatsApp on iPhone: an iPhone backup or ChatStorage.sqlite
  wechat-android    WeChat on Android: the app folder (com.tencent.mm) or EnMicroMsg.db
  wechat-ios        WeChat on iPhone: an iPhone backup or its Documents folder
  whatsapp-txt      WhatsApp's \"Export chat\" text (.txt or .zip); also the way into Telegram
  telegram-json     Telegram Desktop's JSON export (read only)
  archive           chatferry's open archive (JSON Lines and media)
  html              pages to read in a browser (write only)

Examples:
  # Android WhatsApp folder → pages to read
  chatferry convert WhatsApp/ --to html -o pages --opt owner=+4915112345678
  # an end-to-end encrypted Android backup, its 64-digit key in a text file, → an archive
  chatferry convert msgstore.db.crypt15 --opt key-file=e2e-key.txt --to archive -o history
  # Android → a new iPhone: write into a copy of the new iPhone's backup
  chatferry convert WhatsApp/ --opt owner=+4915112345678 --to whatsapp-ios \\
      --opt template=\"$HOME/Library/Application Support/MobileSync/Backup/<UDID>\" -o new-backup
  # WeChat → WhatsApp: list the people, fill in their numbers, convert
  chatferry convert com.tencent.mm/ --to whatsapp-android -o out --write-contact-map people.toml
  chatferry convert com.tencent.mm/ --to whatsapp-android -o out --contacts people.toml --opt owner=+86…";

#[derive(Subcommand)]
pub enum Command {
    /// List the available adapters (built in and from plugins).
    Adapters {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Install, list, remove or create plugins.
    Plugin {
        #[command(subcommand)]
        action: PluginCommand,
    },
    /// List the iPhone backups on this computer and the chat apps each holds.
    ///
    /// Looks where Finder, iTunes and Apple Devices keep backups (on Linux, give
    /// the folder idevicebackup2 wrote) and shows each phone's name, iOS, date,
    /// encryption and which of WhatsApp, WhatsApp Business and WeChat it holds.
    /// No password is needed.
    Backups {
        /// Folders to look in instead (a backup, or a folder of backups).
        folders: Vec<PathBuf>,
        /// Print a JSON array instead of a list.
        #[arg(long)]
        json: bool,
    },
    /// Say which adapter can read PATH.
    Detect {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Summarise a store: chats, messages, date range, media.
    Inspect {
        path: PathBuf,
        /// The adapter to read it with (detected when not given).
        #[arg(long, value_name = "ID")]
        from: Option<String>,
        /// An option for the adapter, e.g. --opt key-file=key (repeatable).
        #[arg(long = "opt", value_name = "NAME=VALUE")]
        opts: Vec<String>,
        #[command(flatten)]
        select: Select,
        #[arg(long)]
        json: bool,
    },
    /// Print shell completions (bash, zsh, fish, powershell, elvish) on stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: `chatferry man | man -l -`.
    Man,
    /// Convert a store into another format.
    #[command(after_help = CONVERT_EXAMPLES)]
    Convert {
        input: PathBuf,
        /// The adapter to read INPUT with (detected when not given).
        #[arg(long, value_name = "ID")]
        from: Option<String>,
        /// The adapter to write with.
        #[arg(long, value_name = "ID")]
        to: String,
        /// Where to write; appears only when the conversion is complete.
        #[arg(short = 'o', long, value_name = "OUTPUT")]
        output: PathBuf,
        /// An option for either adapter, e.g. --opt key-file=key (repeatable).
        #[arg(long = "opt", value_name = "NAME=VALUE")]
        opts: Vec<String>,
        #[command(flatten)]
        select: Select,
        /// Replace OUTPUT if it exists (only after the new one is complete).
        #[arg(long)]
        force: bool,
        /// Also write the conversion report as JSON to FILE (`-`: to stdout,
        /// the text report then going to stderr).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Print the conversion report as JSON on stdout (the text report
        /// goes to stderr).
        #[arg(long)]
        json: bool,
        /// Exit with status 1 (after writing the output and the report) if any
        /// message was downgraded or could not be written.
        #[arg(long)]
        strict: bool,
        /// Pairs people's ids across apps (WhatsApp numbers ⇄ WeChat usernames).
        #[arg(long, value_name = "MAP.toml")]
        contacts: Option<PathBuf>,
        /// Write a contact map template listing the input's people, then stop.
        #[arg(long, value_name = "FILE")]
        write_contact_map: Option<PathBuf>,
        /// What to do with people who have no pair across apps.
        #[arg(long, value_enum, default_value = "stop")]
        unmapped: Unmapped,
    },
}

/// Which part of the history: the same for every adapter pair.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Select {
    /// Only this chat, by its id or its title (repeatable).
    #[arg(long = "chat", value_name = "ID|TITLE")]
    pub chats: Vec<String>,
    /// Only messages from this time on: YYYY-MM-DD (that day's start),
    /// YYYY-MM-DDTHH:MM[:SS], in this machine's time zone unless an offset
    /// or Z is given.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Only messages up to this time: YYYY-MM-DD (that whole day) or a time
    /// as for --since.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
}

impl Select {
    pub fn parse(&self) -> anyhow::Result<Option<crate::select::Selection>> {
        crate::select::Selection::parse(&self.chats, self.since.as_deref(), self.until.as_deref())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Unmapped {
    /// Stop before writing anything and say who is missing.
    Stop,
    /// Give them a placeholder id in the target app and keep their name.
    KeepAsName,
}

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Check a plugin library and install it into the user's plugin folder.
    Install {
        file: PathBuf,
        /// Replace an installed plugin of the same name.
        #[arg(long)]
        force: bool,
    },
    /// List loaded plugins, and any that were refused and why.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed plugin.
    Remove { name: String },
    /// Create a new plugin crate from the template, ready to build.
    New {
        /// The new adapter's id, e.g. `signal` (lower-case letters, digits, hyphens).
        name: String,
        /// The folder to create the crate's folder NAME in (default: the current
        /// folder); a DIR already named NAME and empty is the crate's folder itself.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Where chatferry-core's sources are (default: the ones this binary was built from).
        #[arg(long, value_name = "PATH")]
        core_path: Option<PathBuf>,
    },
}
