//! Names from wa.db (`wa_contacts`): the address-book name, the push name
//! the person chose, and the number.

use chatferry_core::sqlite as db;
use chatferry_core::{Contact, Result};
use std::collections::HashMap;
use std::path::Path;

pub fn read_wa_db(path: &Path) -> Result<HashMap<String, Contact>> {
    let conn = db::open_read_only(path)?;
    if !db::has_table(&conn, "wa_contacts") {
        return Err(chatferry_core::Error::bad_input(format!(
            "{} is not a WhatsApp wa.db (no wa_contacts table)",
            path.display()
        )));
    }
    let col = |c: &str| if db::has_column(&conn, "wa_contacts", c) { c.to_string() } else { "NULL".to_string() };
    let sql = format!(
        "SELECT jid, {}, {}, {} FROM wa_contacts WHERE jid IS NOT NULL ORDER BY _id",
        col("display_name"),
        col("wa_name"),
        col("number")
    );
    let mut stmt = conn.prepare(&sql).map_err(|e| db::sql_error(path, e))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Contact {
                id: r.get::<_, String>(0)?,
                name: r.get::<_, Option<String>>(1)?.filter(|s| !s.is_empty()),
                nickname: r.get::<_, Option<String>>(2)?.filter(|s| !s.is_empty()),
                phone: r.get::<_, Option<String>>(3)?.filter(|s| !s.is_empty()),
                ..Default::default()
            })
        })
        .map_err(|e| db::sql_error(path, e))?;
    let mut out = HashMap::new();
    for row in rows {
        let c = row.map_err(|e| db::sql_error(path, e))?;
        // The same jid can appear once per phone-book entry; keep the first
        // with a name.
        out.entry(c.id.clone())
            .and_modify(|old: &mut Contact| {
                if old.name.is_none() {
                    old.name = c.name.clone();
                }
            })
            .or_insert(c);
    }
    Ok(out)
}

pub use chatferry_core::phone::phone_of_jid as phone_of;
