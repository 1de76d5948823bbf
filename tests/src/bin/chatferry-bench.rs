//! The benchmark: realistic stores of 100,000 and 1,000,000 messages from
//! the fixture generator, converted by the real `chatferry` binary, each
//! timed with its peak RSS and compared with the physical floor — a plain
//! SQLite scan of the same rows (message joined to its chat and sender
//! tables), the best of three done in the same run; for the archive input,
//! reading and parsing its messages.jsonl; for a Telegram export, serde_json
//! parsing its result.json into `IgnoredAny` from a stream. Conversions that write an app's
//! store also get a write floor: SQLite alone copying those rows into the
//! target's message table (its real schema, indexes made after the rows,
//! as the exporters do) — what any writer of that store pays before
//! mapping, side tables or media. It is shown beside the read floor, not
//! instead. Every conversion (and the peer) runs `--runs` times (3); the
//! fastest run is shown with its CPU time, and the highest peak RSS of all.
//!
//! ```sh
//! cargo build --release --workspace && ./target/release/chatferry-bench
//! ./target/release/chatferry-bench --sizes 100000 --runs 1 --work /tmp/bench
//! ./target/release/chatferry-bench --peer   # also whatsapp-chat-exporter (see bench/compare-peer.sh)
//! ```
//!
//! Prints a table and the targets (≤ 4× the floor, peak RSS < 150 MiB at
//! 1,000,000 and < 1.5× growth from 100,000; with `--peer`, ≥ 50× faster
//! and ≥ 20× less memory than whatsapp-chat-exporter). Exits 1 if a
//! target is missed.

use chatferry_tests::fixtures::{ios_backup, telegram, wechat_android, whatsapp_android};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const MIB: f64 = 1024.0 * 1024.0;
/// The password of the benchmark's encrypted iPhone backup.
const BACKUP_PASSWORD: &str = "benchmark password";

struct Measured {
    wall: Duration,
    /// Peak resident memory of the process, bytes.
    peak_rss: u64,
    /// User plus system CPU time of the process (all its threads): steadier
    /// than wall time on a machine whose speed varies from run to run.
    cpu: Duration,
}

/// Runs a command and waits for it with wait4, which reports the child's
/// own peak RSS (getrusage of all children would mix runs).
fn wait4_run(cmd: &mut Command) -> Measured {
    let start = Instant::now();
    let child = cmd.stdout(std::process::Stdio::null()).spawn().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data, filled by the kernel for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4 failed");
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "{cmd:?} failed (status {status})");
    std::mem::forget(child); // already reaped
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Measured { wall, peak_rss: usage.ru_maxrss as u64 * 1024, cpu: tv(usage.ru_utime) + tv(usage.ru_stime) }
}

/// Measures a command from a freshly started copy of this binary: Linux
/// counts the spawning process's resident memory into the child's peak
/// (it is recorded at exec), so the spawner must be small, not this
/// process after it generated a million-message store.
fn measure(cmd: &mut Command, stderr_to: Option<&Path>) -> Measured {
    // Earlier writes (the generated stores, the previous conversion's
    // output) are flushed first, so their writeback is not timed here.
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let mut runner = Command::new(std::env::current_exe().unwrap());
    runner.arg("--run-measured").arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => runner.env(k, v),
            None => runner.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        runner.current_dir(d);
    }
    match stderr_to {
        Some(p) => runner.stderr(std::fs::File::create(p).unwrap()),
        None => runner.stderr(std::process::Stdio::inherit()),
    };
    let out = runner.output().expect("run the measuring copy");
    assert!(out.status.success(), "{cmd:?} failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().map(|v| v.parse::<u64>().expect("runner output"));
    let (ns, rss, cpu) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    Measured { wall: Duration::from_nanos(ns), peak_rss: rss, cpu: Duration::from_nanos(cpu) }
}

/// The fastest of several runs of one command (with its CPU time) and the
/// highest peak RSS of them all: this machine's speed moves between runs,
/// its memory use does not.
fn best_run(runs: impl Iterator<Item = Measured>) -> Measured {
    runs.reduce(|best, m| Measured {
        peak_rss: best.peak_rss.max(m.peak_rss),
        ..if m.wall < best.wall { m } else { best }
    })
    .expect("at least one run")
}

/// The least time of three runs: a floor is what the machine can do at
/// best, and one scan of well under a second moved by 30% between runs.
fn best_of_3(floor: impl Fn() -> (Duration, u64)) -> (Duration, u64) {
    (0..3).map(|_| floor()).min().expect("three runs")
}

/// Steps every row of `sql`, touching every column, and returns the time.
fn scan(conn: &Connection, sql: &str) -> (Duration, u64) {
    let start = Instant::now();
    let mut st = conn.prepare(sql).expect("floor query");
    let n = st.column_count();
    let mut rows = st.query([]).unwrap();
    let (mut count, mut bytes) = (0u64, 0u64);
    while let Some(r) = rows.next().unwrap() {
        for i in 0..n {
            bytes += match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t.len() as u64,
                _ => 8,
            };
        }
        count += 1;
    }
    std::hint::black_box(bytes);
    (start.elapsed(), count)
}

/// The write floor: creates the target store's tables from its schema,
/// runs `insert` (an `INSERT INTO dst.… SELECT … FROM` the source, which
/// `source` has open) and then makes the schema's indexes, as
/// the exporters do. Returns the time of all three and the rows inserted.
fn write_floor(source: &Connection, target: &Path, schema: &str, insert: &str) -> (Duration, u64) {
    use chatferry_core::ddl::{index_kind, is_internal, statements};
    let _ = std::fs::remove_file(target);
    // SAFETY: as in `measure`.
    unsafe { libc::sync() };
    let start = Instant::now();
    let (indexes, tables): (Vec<String>, Vec<String>) =
        statements(schema).into_iter().filter(|s| !is_internal(s)).partition(|s| index_kind(s).is_some());
    let dst = Connection::open(target).unwrap();
    dst.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;").unwrap();
    for t in &tables {
        dst.execute_batch(t).unwrap_or_else(|e| panic!("{e}: {t}"));
    }
    drop(dst);
    // KEY '' keeps the target plain when the source is SQLCipher-encrypted.
    source.execute("ATTACH DATABASE ?1 AS dst KEY ''", [target.to_str().unwrap()]).unwrap();
    source.execute_batch("PRAGMA dst.journal_mode = OFF; PRAGMA dst.synchronous = OFF;").unwrap();
    let rows = source.execute(insert, []).unwrap_or_else(|e| panic!("{e}: {insert}")) as u64;
    source.execute_batch("DETACH DATABASE dst").unwrap();
    let dst = Connection::open(target).unwrap();
    dst.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN").unwrap();
    for i in &indexes {
        dst.execute_batch(i).unwrap_or_else(|e| panic!("{e}: {i}"));
    }
    dst.execute_batch("COMMIT").unwrap();
    drop(dst);
    let took = start.elapsed();
    let _ = std::fs::remove_file(target);
    (took, rows)
}

/// The WhatsApp Android floor's rows written into WhatsApp for iPhone's
/// ZWAMESSAGE (Core Data's time: seconds since 2001).
fn whatsapp_to_ios_write_floor(msgstore: &Path, target: &Path) -> (Duration, u64) {
    // The store is attached read-only to an empty main database (a
    // read-only main connection would make the target read-only too).
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_URI;
    let source = Connection::open_with_flags(":memory:", flags).unwrap();
    source.execute("ATTACH DATABASE ?1 AS src", [format!("file:{}?mode=ro", msgstore.display())]).unwrap();
    write_floor(
        &source,
        target,
        &whatsapp_android::ddl("ios_chatstorage_secondhand.sql"),
        "INSERT INTO dst.ZWAMESSAGE (Z_PK, Z_ENT, Z_OPT, ZCHATSESSION, ZISFROMME, ZMESSAGEDATE, ZMESSAGETYPE,
                ZMESSAGESTATUS, ZSTARRED, ZSORT, ZSTANZAID, ZTEXT, ZFROMJID, ZTOJID, ZPUSHNAME)
         SELECT m._id, 9, 1, m.chat_row_id, m.from_me, m.timestamp / 1000.0 - 978307200, m.message_type,
                m.status, m.starred, m._id, m.key_id, m.text_data,
                CASE WHEN m.from_me THEN NULL ELSE cj.raw_string END,
                CASE WHEN m.from_me THEN cj.raw_string END, COALESCE(sj.raw_string, c.subject)
         FROM message m JOIN chat c ON c._id = m.chat_row_id JOIN jid cj ON cj._id = c.jid_row_id
         LEFT JOIN jid sj ON sj._id = m.sender_jid_row_id",
    )
}

/// The WeChat floor's rows written into msgstore.db's message table, with
/// key ids shaped like WhatsApp's (random: the unique key index sorts them).
fn wechat_to_whatsapp_write_floor(db: &Path, key: &str, target: &Path) -> (Duration, u64) {
    let (_copy, source) = wechat_open(db, key);
    let schema = whatsapp_android::ddl("android_msgstore_2.22.5.13_full_schema.sql");
    write_floor(
        &source,
        target,
        &schema,
        "INSERT INTO dst.message (_id, chat_row_id, from_me, key_id, sender_jid_row_id, status, timestamp,
                received_timestamp, message_type, text_data, starred, sort_id)
         SELECT m.msgId, COALESCE(m.talkerId, 0), m.isSend, upper(hex(randomblob(16))),
                CASE WHEN m.isSend = 0 THEN r.rowid END, m.status, m.createTime, m.createTime, 0, m.content, 0, m.msgId
         FROM message m LEFT JOIN rcontact r ON r.username = m.talker",
    )
}

fn whatsapp_floor(msgstore: &Path) -> (Duration, u64) {
    let conn = Connection::open_with_flags(msgstore, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    scan(
        &conn,
        "SELECT m._id, m.key_id, m.from_me, m.timestamp, m.message_type, m.text_data, m.status, m.starred,
                c.subject, cj.raw_string, sj.raw_string
         FROM message m JOIN chat c ON c._id = m.chat_row_id JOIN jid cj ON cj._id = c.jid_row_id
         LEFT JOIN jid sj ON sj._id = m.sender_jid_row_id",
    )
}

fn whatsapp_ios_floor(chat_storage: &Path) -> (Duration, u64) {
    let conn = Connection::open_with_flags(chat_storage, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    scan(
        &conn,
        "SELECT m.Z_PK, m.ZSTANZAID, m.ZISFROMME, m.ZMESSAGEDATE, m.ZMESSAGETYPE, m.ZTEXT, m.ZFROMJID,
                c.ZCONTACTJID, c.ZPARTNERNAME
         FROM ZWAMESSAGE m JOIN ZWACHATSESSION c ON c.Z_PK = m.ZCHATSESSION",
    )
}

/// EnMicroMsg.db opened with its key, as a copy (WAL files open read-write).
fn wechat_open(db: &Path, key: &str) -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("EnMicroMsg.db");
    std::fs::copy(db, &copy).unwrap();
    let conn = Connection::open(&copy).unwrap();
    wechat_android::apply_key(&conn, key);
    (dir, conn)
}

fn wechat_floor(db: &Path, key: &str) -> (Duration, u64) {
    // The same decryption the import needs.
    let (_copy, conn) = wechat_open(db, key);
    scan(
        &conn,
        "SELECT m.msgId, m.msgSvrId, m.type, m.status, m.isSend, m.createTime, m.talker, m.content, m.imgPath,
                r.nickname, r.conRemark, r.alias
         FROM message m LEFT JOIN rcontact r ON r.username = m.talker",
    )
}

fn archive_floor(archive: &Path) -> (Duration, u64) {
    use std::io::BufRead;
    let start = Instant::now();
    let f = std::fs::File::open(archive.join("messages.jsonl")).unwrap();
    let mut count = 0u64;
    for line in std::io::BufReader::new(f).lines() {
        let m: chatferry_core::Message = serde_json::from_str(&line.unwrap()).unwrap();
        std::hint::black_box(&m);
        count += 1;
    }
    (start.elapsed(), count)
}

/// Reading every line of the exports below `dir` with a plain line split:
/// the floor for reading WhatsApp "Export chat" text.
fn txt_floor(dir: &Path) -> (Duration, u64) {
    use std::io::BufRead;
    let start = Instant::now();
    let mut lines = 0u64;
    for chat in std::fs::read_dir(dir).unwrap() {
        for f in std::fs::read_dir(chat.unwrap().path()).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "txt") {
                for line in std::io::BufReader::new(std::fs::File::open(&f).unwrap()).lines() {
                    std::hint::black_box(line.unwrap());
                    lines += 1;
                }
            }
        }
    }
    (start.elapsed(), lines)
}

/// Parsing a Telegram export with serde_json into `IgnoredAny`, read as
/// a stream (the importer never holds the file): a plain validating scan,
/// the floor for reading `result.json` (issue 39).
fn telegram_floor(json: &Path) -> (Duration, u64) {
    let start = Instant::now();
    let f = std::io::BufReader::with_capacity(64 << 10, std::fs::File::open(json).unwrap());
    let _: serde::de::IgnoredAny = serde_json::from_reader(f).unwrap();
    (start.elapsed(), std::fs::metadata(json).unwrap().len())
}

/// What finding things in an html export costs: the search index's size
/// against the pages', searches and the calendar timed in headless Chromium.
struct HtmlFinds {
    size: usize,
    index_bytes: u64,
    page_bytes: u64,
    /// (word, results, milliseconds the page's script took, the whole run).
    searches: Vec<(&'static str, u64, u64, Duration)>,
    /// (days, milliseconds, whole run) for the longest chat's calendar.
    calendar: Option<(u64, u64, Duration)>,
}

fn size_below(dir: &Path, ext: &str) -> u64 {
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|x| x == ext) {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

/// A page in headless Chromium, its DOM once loaded (real time: the page's
/// own clock measures the work), and how long the run took.
fn chromium_dom(url: &str) -> Option<(String, Duration)> {
    use chatferry_tests::harness::{CHROMIUM, CHROMIUM_QUIET};
    if !Path::new(CHROMIUM).is_file() {
        return None;
    }
    let profile = tempfile::tempdir().unwrap();
    let start = Instant::now();
    // Real time, not --virtual-time-budget: the page's own clock measures the work.
    let out = Command::new(CHROMIUM)
        .args(CHROMIUM_QUIET)
        .arg("--dump-dom")
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .ok()?;
    Some((String::from_utf8_lossy(&out.stdout).into_owned(), start.elapsed()))
}

fn attribute(dom: &str, name: &str) -> Option<u64> {
    let at = dom.find(&format!("{name}=\""))? + name.len() + 2;
    dom[at..].split('"').next()?.parse().ok()
}

fn finding_in_pages(n: usize, html: &Path) -> HtmlFinds {
    let mut f = HtmlFinds {
        size: n,
        index_bytes: size_below(&html.join("search"), "js"),
        page_bytes: size_below(&html.join("chats"), "html"),
        searches: Vec::new(),
        calendar: None,
    };
    let index = html.join("index.html");
    for word in ["晚上", "بالجميع", "🍜", "Herbst"] {
        eprintln!("[{n}] html search for {word} in Chromium");
        let q: String = word.bytes().map(|b| format!("%{b:02X}")).collect();
        let Some((dom, wall)) = chromium_dom(&format!("file://{}?q={q}", index.display())) else {
            eprintln!("skipped: headless Chromium is not installed (apt-get install chromium)");
            return f;
        };
        let (results, ms) = (attribute(&dom, "data-results"), attribute(&dom, "data-search-ms"));
        f.searches.push((word, results.unwrap_or(0), ms.unwrap_or(u64::MAX), wall));
    }
    // The longest chat's calendar (the largest days.js).
    let longest = std::fs::read_dir(html.join("chats"))
        .into_iter()
        .flatten()
        .flatten()
        .max_by_key(|e| e.path().join("days.js").metadata().map(|m| m.len()).unwrap_or(0));
    if let Some(chat) = longest {
        eprintln!("[{n}] html calendar in Chromium");
        if let Some((dom, wall)) = chromium_dom(&format!("file://{}", chat.path().join("index.html").display())) {
            f.calendar = Some((
                attribute(&dom, "data-days").unwrap_or(0),
                attribute(&dom, "data-calendar-ms").unwrap_or(u64::MAX),
                wall,
            ));
        }
    }
    f
}

struct Row {
    size: usize,
    name: &'static str,
    m: Measured,
    floor: Duration,
    /// For conversions that write an app's store (see `write_floor`).
    write_floor: Option<Duration>,
}

/// `from` copied to `to`, folders and files (the benchmark's inputs have no links).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--run-measured") {
        let m = wait4_run(Command::new(&args[1]).args(&args[2..]));
        println!("{} {} {}", m.wall.as_nanos(), m.peak_rss, m.cpu.as_nanos());
        return ExitCode::SUCCESS;
    }
    let mut sizes = vec![100_000usize, 1_000_000];
    let mut work: Option<PathBuf> = None;
    let mut peer = false;
    let mut runs = 3usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sizes" => {
                sizes = it.next().expect("--sizes N,N").split(',').map(|s| s.trim().parse().expect("a size")).collect()
            }
            "--work" => work = Some(PathBuf::from(it.next().expect("--work DIR"))),
            "--peer" => peer = true,
            "--runs" => runs = it.next().and_then(|r| r.parse().ok()).filter(|r| *r > 0).expect("--runs N (1 or more)"),
            other => {
                eprintln!(
                    "usage: chatferry-bench [--sizes 100000,1000000] [--work DIR] [--runs 3] [--peer]  (unknown {other})"
                );
                return ExitCode::from(2);
            }
        }
    }
    let exe_dir = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let chatferry = exe_dir.join("chatferry");
    assert!(chatferry.is_file(), "build first: cargo build --release --workspace");
    let temp = tempfile::tempdir().unwrap();
    let work = work.unwrap_or_else(|| temp.path().to_path_buf());
    let home = work.join("home");
    std::fs::create_dir_all(&home).unwrap();
    // Each conversion `runs` times into a fresh `out`; the best is kept.
    let run = |args: &[&str], out: &Path| {
        best_run((0..runs).map(|_| {
            let _ = std::fs::remove_dir_all(out);
            let mut c = Command::new(&chatferry);
            c.args(args).arg("-o").arg(out);
            c.env("HOME", &home).env("XDG_DATA_HOME", home.join("data")).env_remove("CHATFERRY_PLUGIN_PATH");
            measure(&mut c, None)
        }))
    };
    let p = |p: &Path| p.to_str().unwrap().to_string();

    let mut rows: Vec<Row> = Vec::new();
    let mut html_finds: Vec<HtmlFinds> = Vec::new();
    let mut peer_rows: Vec<(usize, Measured)> = Vec::new();
    let mut derivations: Vec<(usize, Duration)> = Vec::new();
    for &n in &sizes {
        let dir = work.join(n.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        eprintln!("[{n}] generating stores …");
        let t = Instant::now();
        let wa = whatsapp_android::write_scaled(&dir.join("WhatsApp"), n);
        let wc = wechat_android::write_scaled(&dir.join("com.tencent.mm"), n);
        eprintln!("[{n}] generated in {:.1} s", t.elapsed().as_secs_f64());
        // SAFETY: as in `measure`.
        unsafe { libc::sync() };

        let (wa_floor, wa_rows) = best_of_3(|| whatsapp_floor(&wa.msgstore));
        let (wc_floor, wc_rows) = best_of_3(|| wechat_floor(&wc.db, &wc.key));
        assert_eq!((wa_rows as usize, wc_rows as usize), (n, n), "the floors scan every message");
        let (ios_write_floor, ios_rows) = whatsapp_to_ios_write_floor(&wa.msgstore, &dir.join("write-floor.sqlite"));
        let (wa_write_floor, wc_written) = wechat_to_whatsapp_write_floor(&wc.db, &wc.key, &dir.join("write-floor.db"));
        assert_eq!((ios_rows as usize, wc_written as usize), (n, n), "the write floors write every message");

        let archive = dir.join("archive");
        eprintln!("[{n}] whatsapp-android → archive");
        let m = run(&["convert", &p(&wa.root), "--to", "archive", "--opt", "owner=+4915112345678"], &archive);
        rows.push(Row { size: n, name: "whatsapp-android → archive", m, floor: wa_floor, write_floor: None });
        let (ar_floor, ar_rows) = best_of_3(|| archive_floor(&archive));
        assert_eq!(ar_rows as usize, n);

        // The same store 2026-shaped: a person's chat under their number and their LID, read as one.
        eprintln!("[{n}] whatsapp-android 2026-shaped → archive");
        let shaped = dir.join("WhatsApp-2026");
        copy_dir(&wa.root, &shaped);
        whatsapp_android::split_person_under_lid(&shaped.join("Databases/msgstore.db"));
        let m = run(&["convert", &p(&shaped), "--to", "archive", "--opt", "owner=+4915112345678"], &dir.join("a2026"));
        rows.push(Row {
            size: n,
            name: "whatsapp-android 2026-shaped (a person under 2 ids) → archive",
            m,
            floor: wa_floor,
            write_floor: None,
        });
        let _ = std::fs::remove_dir_all(dir.join("a2026"));

        eprintln!("[{n}] whatsapp-android → whatsapp-ios");
        let m =
            run(&["convert", &p(&wa.root), "--to", "whatsapp-ios", "--opt", "owner=+4915112345678"], &dir.join("ios"));
        rows.push(Row {
            size: n,
            name: "whatsapp-android → whatsapp-ios",
            m,
            floor: wa_floor,
            write_floor: Some(ios_write_floor),
        });

        // The same WhatsApp iPhone store in a backup, unencrypted and
        // encrypted (iPhone's 10,000,000 password rounds), read to the archive.
        eprintln!("[{n}] iPhone backups, unencrypted and encrypted");
        let (plain, sealed) = (dir.join("backup-plain"), dir.join("backup-sealed"));
        ios_backup::write(&dir.join("ios"), &plain, None);
        ios_backup::write(&dir.join("ios"), &sealed, Some(&ios_backup::Encryption::as_iphone(BACKUP_PASSWORD)));
        let (ios_floor, ios_rows) = best_of_3(|| whatsapp_ios_floor(&dir.join("ios/ChatStorage.sqlite")));
        assert_eq!(ios_rows as usize, n);
        let owner = "owner=+4915112345678";
        let m = run(&["convert", &p(&plain), "--to", "archive", "--opt", owner], &dir.join("from-plain"));
        rows.push(Row { size: n, name: "whatsapp-ios backup → archive", m, floor: ios_floor, write_floor: None });
        let password_file = dir.join("backup-password");
        std::fs::write(&password_file, BACKUP_PASSWORD).unwrap();
        let pw = format!("backup-password-file={}", p(&password_file));
        let m =
            run(&["convert", &p(&sealed), "--to", "archive", "--opt", owner, "--opt", &pw], &dir.join("from-sealed"));
        rows.push(Row {
            size: n,
            name: "encrypted whatsapp-ios backup → archive",
            m,
            floor: ios_floor,
            write_floor: None,
        });
        // The one-time key derivation alone: a wrong password stops right after it.
        std::fs::write(&password_file, "not the password").unwrap();
        let derive = (0..runs)
            .map(|_| {
                let mut c = Command::new(&chatferry);
                c.args(["inspect", &p(&sealed), "--opt", &pw, "--quiet"]);
                c.env("HOME", &home).env("XDG_DATA_HOME", home.join("data")).env_remove("CHATFERRY_PLUGIN_PATH");
                let t = Instant::now();
                let out = c.output().unwrap();
                let took = t.elapsed();
                assert!(String::from_utf8_lossy(&out.stderr).contains("wrong backup password"), "{out:?}");
                took
            })
            .min()
            .unwrap();
        derivations.push((n, derive));
        for d in ["backup-plain", "backup-sealed", "from-plain", "from-sealed"] {
            let _ = std::fs::remove_dir_all(dir.join(d));
        }

        eprintln!("[{n}] wechat-android → whatsapp-android");
        let m = run(
            &[
                "convert",
                &p(&wc.root),
                "--to",
                "whatsapp-android",
                "--opt",
                "owner=+8613800138000",
                // No contact map: WeChat people keep their names under placeholder numbers.
                "--unmapped",
                "keep-as-name",
            ],
            &dir.join("wa-from-wechat"),
        );
        rows.push(Row {
            size: n,
            name: "wechat-android → whatsapp-android",
            m,
            floor: wc_floor,
            write_floor: Some(wa_write_floor),
        });

        // WhatsApp "Export chat" text: written from the archive, then read.
        eprintln!("[{n}] archive → whatsapp-txt");
        let txt = dir.join("txt");
        let args = ["convert", &p(&archive), "--to", "whatsapp-txt", "--opt", "style=android", "--opt", "timezone=UTC"];
        let m = run(&args, &txt);
        rows.push(Row { size: n, name: "archive → whatsapp-txt", m, floor: ar_floor, write_floor: None });
        let (line_floor, lines) = best_of_3(|| txt_floor(&txt));
        assert!(lines as usize >= n, "every message is a line");
        eprintln!("[{n}] whatsapp-txt, read (inspect)");
        let m = best_run((0..runs).map(|_| {
            let mut c = Command::new(&chatferry);
            c.args(["inspect", &p(&txt), "--opt", "timezone=UTC", "--quiet"]);
            c.env("HOME", &home).env("XDG_DATA_HOME", home.join("data")).env_remove("CHATFERRY_PLUGIN_PATH");
            measure(&mut c, None)
        }));
        rows.push(Row { size: n, name: "whatsapp-txt read (inspect)", m, floor: line_floor, write_floor: None });

        // Telegram Desktop's JSON export: a whole account, a thousandth of the messages in chats.
        eprintln!("[{n}] telegram-json, read (inspect)");
        let tg = telegram::write_large(&dir.join("telegram"), n, (n / 1000).max(1));
        let (tg_floor, _) = best_of_3(|| telegram_floor(&tg));
        let m = best_run((0..runs).map(|_| {
            let mut c = Command::new(&chatferry);
            c.args(["inspect", &p(&tg), "--quiet"]);
            c.env("HOME", &home).env("XDG_DATA_HOME", home.join("data")).env_remove("CHATFERRY_PLUGIN_PATH");
            measure(&mut c, None)
        }));
        rows.push(Row { size: n, name: "telegram-json read (inspect)", m, floor: tg_floor, write_floor: None });
        let _ = std::fs::remove_dir_all(dir.join("telegram"));

        eprintln!("[{n}] archive → html");
        let m = run(&["convert", &p(&archive), "--to", "html"], &dir.join("html"));
        rows.push(Row { size: n, name: "archive → html", m, floor: ar_floor, write_floor: None });
        html_finds.push(finding_in_pages(n, &dir.join("html")));

        if peer {
            eprintln!("[{n}] whatsapp-chat-exporter (PyPI) → JSON");
            let venv = chatferry_tests::harness::workspace_root().join("target/interop-venv/bin/wtsexporter");
            assert!(
                venv.is_file(),
                "run bench/compare-peer.sh (it installs whatsapp-chat-exporter into target/interop-venv)"
            );
            let out = dir.join("peer");
            std::fs::create_dir_all(&out).unwrap();
            // whatsapp-chat-exporter reads the legacy `messages` table first
            // when it exists (empty in the generated 2.22 store) and then sees
            // nothing: give it a copy without it, so both read the same rows.
            let msgstore = out.join("msgstore.db");
            std::fs::copy(&wa.msgstore, &msgstore).unwrap();
            Connection::open(&msgstore).unwrap().execute_batch("DROP TABLE IF EXISTS messages;").unwrap();
            let mut c = Command::new(venv);
            c.current_dir(&out).args([
                "-a",
                "-d",
                &p(&msgstore),
                "-w",
                &p(&wa.wa_db),
                "-j",
                "result.json",
                "--no-html",
                "--no-banner",
            ]);
            peer_rows.push((
                n,
                best_run((0..runs).map(|_| {
                    let _ = std::fs::remove_file(out.join("result.json"));
                    measure(&mut c, Some(&out.join("wtsexporter.log")))
                })),
            ));
            let log = std::fs::read_to_string(out.join("wtsexporter.log")).unwrap_or_default();
            // Its progress bars redraw with \r: look at each redraw on its own.
            let processed = log
                .split(['\n', '\r'])
                .filter(|l| l.contains("Processing messages: 100%"))
                .last()
                .unwrap_or("")
                .to_string();
            eprintln!("[{n}] whatsapp-chat-exporter: {}", processed.trim());
        }
        let _ = std::fs::remove_dir_all(dir.join("ios"));
        let _ = std::fs::remove_dir_all(dir.join("wa-from-wechat"));
        let _ = std::fs::remove_dir_all(dir.join("html"));
        let _ = std::fs::remove_dir_all(dir.join("txt"));
    }

    println!(
        "| messages | conversion | time | CPU | messages/s | peak RSS | read floor | × read floor | write floor | × write floor |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in &rows {
        let (write_floor, write_ratio) = match r.write_floor {
            Some(w) => {
                (format!("{:.2} s", w.as_secs_f64()), format!("{:.1}", r.m.wall.as_secs_f64() / w.as_secs_f64()))
            }
            None => (String::new(), String::new()),
        };
        println!(
            "| {} | {} | {:.1} s | {:.1} s | {:.0} | {:.1} MiB | {:.2} s | {:.1} | {write_floor} | {write_ratio} |",
            r.size,
            r.name,
            r.m.wall.as_secs_f64(),
            r.m.cpu.as_secs_f64(),
            r.size as f64 / r.m.wall.as_secs_f64(),
            r.m.peak_rss as f64 / MIB,
            r.floor.as_secs_f64(),
            r.m.wall.as_secs_f64() / r.floor.as_secs_f64()
        );
    }

    let mut ok = true;
    let mut check = |pass: bool, what: String| {
        println!("{} {what}", if pass { "PASS" } else { "FAIL" });
        ok &= pass;
    };
    // Finding things in the html pages (issue 25).
    for f in &html_finds {
        let share = f.index_bytes as f64 / f.page_bytes.max(1) as f64;
        check(
            share <= 0.5,
            format!(
                "html search index at {}: {:.1} MB, {:.0}% of the pages' {:.1} MB (target ≤ 50%)",
                f.size,
                f.index_bytes as f64 / 1e6,
                share * 100.0,
                f.page_bytes as f64 / 1e6
            ),
        );
        for (word, results, ms, wall) in &f.searches {
            check(
                *ms < 1000,
                format!(
                    "html search for {word:?} at {}: {results} results in {ms} ms in Chromium ({:.1} s with its start) (target < 1 s)",
                    f.size,
                    wall.as_secs_f64()
                ),
            );
        }
        if let Some((days, ms, wall)) = f.calendar {
            check(
                ms < 1000,
                format!(
                    "html calendar of the longest chat at {}: {days} days drawn in {ms} ms ({:.1} s with Chromium's start) (target < 1 s)",
                    f.size,
                    wall.as_secs_f64()
                ),
            );
        }
    }
    for r in &rows {
        let ratio = r.m.wall.as_secs_f64() / r.floor.as_secs_f64();
        // Export text is read against a plain line split: ≤ 5× (issue 22's
        // 3× was withdrawn by the project, 2026-12).
        let target = if r.name.starts_with("whatsapp-txt read") { 5.0 } else { 4.0 };
        check(ratio <= target, format!("{} at {}: {ratio:.1}× the floor (target ≤ {target}×)", r.name, r.size));
        if let Some(w) = r.write_floor {
            // Shown, not judged: the issue's target is against the read floor.
            let ratio = r.m.wall.as_secs_f64() / w.as_secs_f64();
            println!("INFO {} at {}: {ratio:.1}× the write floor", r.name, r.size);
        }
    }
    // Encrypted backups: decrypting costs at most half again the reading
    // of the same backup unencrypted, after the one-time key derivation (issue 21).
    for (n, derive) in &derivations {
        let wall = |name: &str| rows.iter().find(|r| r.size == *n && r.name == name).unwrap().m.wall.as_secs_f64();
        let (plain, sealed) = (wall("whatsapp-ios backup → archive"), wall("encrypted whatsapp-ios backup → archive"));
        let ratio = (sealed - derive.as_secs_f64()) / plain;
        println!("INFO encrypted backup at {n}: the key derivation takes {:.2} s", derive.as_secs_f64());
        check(
            ratio <= 1.5,
            format!("encrypted backup read at {n}: {ratio:.2}× the unencrypted one, after the key derivation (target ≤ 1.5×)"),
        );
    }
    let (small, large) = (sizes.iter().min().copied().unwrap(), sizes.iter().max().copied().unwrap());
    for name in rows.iter().map(|r| r.name).collect::<std::collections::BTreeSet<_>>() {
        let rss = |n: usize| rows.iter().find(|r| r.name == name && r.size == n).map(|r| r.m.peak_rss as f64 / MIB);
        if let Some(big) = rss(large) {
            if large >= 1_000_000 {
                check(big < 150.0, format!("{name}: peak RSS {big:.1} MiB at {large} (target < 150 MiB)"));
            }
            if large > small {
                let growth = big / rss(small).unwrap();
                check(growth < 1.5, format!("{name}: RSS grows {growth:.2}× from {small} to {large} (target < 1.5×)"));
            }
        }
    }
    for (n, m) in &peer_rows {
        let ours = rows.iter().find(|r| r.size == *n && r.name == "whatsapp-android → archive").unwrap();
        let speed = m.wall.as_secs_f64() / ours.m.wall.as_secs_f64();
        let memory = m.peak_rss as f64 / ours.m.peak_rss as f64;
        println!(
            "| {n} | whatsapp-chat-exporter → JSON | {:.1} s | {:.1} s | {:.0} | {:.1} MiB | | | | |",
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            *n as f64 / m.wall.as_secs_f64(),
            m.peak_rss as f64 / MIB
        );
        check(speed >= 50.0, format!("import of {n}: {speed:.1}× faster than whatsapp-chat-exporter (target ≥ 50×)"));
        check(
            memory >= 20.0,
            format!("import of {n}: {memory:.1}× less memory than whatsapp-chat-exporter (target ≥ 20×)"),
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
