//! One person, one id: since 2024 WhatsApp also keys people by a hidden-
//! number id (`…@lid`). A person read under both is read under their phone
//! JID, from the pairs the store keeps (shared/formats/whatsapp-2024-2026.md
//! §1.4): a session's or group member's other identity
//! (`ZCONTACTIDENTIFIER`), and `ZWAPHONENUMBERLIDPAIR` in `LID.sqlite` (or,
//! in some versions, in ChatStorage.sqlite itself).

use chatferry_core::sqlite as db;
use chatferry_core::Result;
use rusqlite::Connection;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

#[derive(Default)]
pub struct Identities {
    /// LID → phone JID.
    phone_of: HashMap<String, String>,
    /// Phone JID → its first LID (sorted, the same on every run).
    lid_of: HashMap<String, String>,
}

/// `4915…`, `+4915…` or `4915…@s.whatsapp.net` as a phone JID; digits or
/// `…@lid` as a LID (LID.sqlite's values come both ways).
fn as_jid(raw: &str, server: &str) -> Option<String> {
    let raw = raw.trim();
    let user = raw.split_once('@').map_or(raw, |(u, _)| u).trim_start_matches('+');
    let user = user.split(':').next().unwrap_or(user); // a device suffix
    (!user.is_empty() && user.bytes().all(|b| b.is_ascii_digit())).then(|| format!("{user}@{server}"))
}

impl Identities {
    pub fn read(conn: &Connection, lid_db: Option<&Path>) -> Result<Identities> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut other_forms = |table: &str, jid: &str| -> Result<()> {
            if !db::has_column(conn, table, "ZCONTACTIDENTIFIER") || !db::has_column(conn, table, jid) {
                return Ok(());
            }
            let e = db::err_for(conn);
            let mut st = conn
                .prepare(&format!(
                    "SELECT {jid}, ZCONTACTIDENTIFIER FROM {table} WHERE ZCONTACTIDENTIFIER IS NOT NULL ORDER BY Z_PK"
                ))
                .map_err(&e)?;
            for row in st
                .query_map([], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?)))
                .map_err(&e)?
            {
                if let (Some(a), Some(b)) = row.map_err(&e)? {
                    // Either column may hold the LID (2025+ sessions are keyed by it).
                    for (l, p) in [(&a, &b), (&b, &a)] {
                        if l.ends_with("@lid") && p.ends_with("@s.whatsapp.net") {
                            pairs.push((l.clone(), p.clone()));
                        }
                    }
                }
            }
            Ok(())
        };
        other_forms("ZWACHATSESSION", "ZCONTACTJID")?;
        other_forms("ZWAGROUPMEMBER", "ZMEMBERJID")?;
        let lid_pairs = |c: &Connection, pairs: &mut Vec<(String, String)>| -> Result<()> {
            if !db::has_column(c, "ZWAPHONENUMBERLIDPAIR", "ZLID")
                || !db::has_column(c, "ZWAPHONENUMBERLIDPAIR", "ZPHONENUMBER")
            {
                return Ok(());
            }
            let e = db::err_for(c);
            let mut st = c.prepare("SELECT ZLID, ZPHONENUMBER FROM ZWAPHONENUMBERLIDPAIR ORDER BY Z_PK").map_err(&e)?;
            for row in st
                .query_map([], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?)))
                .map_err(&e)?
            {
                let (lid, phone) = row.map_err(&e)?;
                if let (Some(l), Some(p)) = (
                    lid.as_deref().and_then(|l| as_jid(l, "lid")),
                    phone.as_deref().and_then(|p| as_jid(p, "s.whatsapp.net")),
                ) {
                    pairs.push((l, p));
                }
            }
            Ok(())
        };
        lid_pairs(conn, &mut pairs)?;
        if let Some(path) = lid_db {
            lid_pairs(&db::open_read_only(path)?, &mut pairs)?;
        }
        let mut ids = Identities::default();
        for (lid, phone) in pairs {
            // The first pair a LID is found in wins (the store's own sessions first).
            ids.phone_of.entry(lid).or_insert(phone);
        }
        let sorted: BTreeMap<&String, &String> = ids.phone_of.iter().collect();
        for (lid, phone) in sorted {
            ids.lid_of.entry(phone.clone()).or_insert_with(|| lid.clone());
        }
        Ok(ids)
    }

    /// The id a person is read under: their phone JID when a LID pairs with one.
    pub fn person<'a>(&'a self, jid: &'a str) -> &'a str {
        self.phone_of.get(jid).map_or(jid, String::as_str)
    }

    /// The LID of a person read under their phone JID.
    pub fn lid_of(&self, phone: &str) -> Option<&str> {
        self.lid_of.get(phone).map(String::as_str)
    }

    pub fn is_lid_paired(&self, jid: &str) -> bool {
        self.phone_of.contains_key(jid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lid_sqlite_values_come_with_or_without_their_server() {
        assert_eq!(as_jid("+4915112345678", "s.whatsapp.net").as_deref(), Some("4915112345678@s.whatsapp.net"));
        assert_eq!(
            as_jid("4915112345678@s.whatsapp.net", "s.whatsapp.net").as_deref(),
            Some("4915112345678@s.whatsapp.net")
        );
        assert_eq!(as_jid("7000001:12@lid", "lid").as_deref(), Some("7000001@lid"));
        assert_eq!(as_jid("", "lid"), None);
        assert_eq!(as_jid("abc@lid", "lid"), None);
    }
}
