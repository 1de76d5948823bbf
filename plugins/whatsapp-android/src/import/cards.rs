//! What a message's own row does not say, for three kinds of card: who
//! pinned a message or kept it from disappearing (add-ons 79 and 68), the
//! call a call entry stands for (type 90 → `message_call_log` →
//! `call_log`), and the group an invite card asks to join (type 24,
//! `message_group_invite`). shared/formats/whatsapp-2024-2026.md §3.4,
//! §3.9, §3.10. A store without a table reads none of its rows.

use super::side::{self, Side};
use chatferry_core::sqlite as db;
use chatferry_core::{Call, Pin, Result};
use rusqlite::Connection;

/// The add-on types read here.
const KEEP_IN_CHAT: i64 = 68;
const PIN: i64 = 79;

pub struct CardSides<'c> {
    pins: Option<Side<'c>>,
    kept: Option<Side<'c>>,
    calls: Option<Side<'c>>,
    invites: Option<Side<'c>>,
}

/// One pin or keep-in-chat row: (from me, sender `jid._id`, state, time, expiry).
pub type MarkRow = (bool, Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// The call a call entry is of.
#[derive(Default, Debug)]
pub struct CallRow {
    video: bool,
    duration_s: Option<i64>,
    result: Option<i64>,
    /// The group called (`jid._id`, 0 when none) and how many people the call had.
    group_row: Option<i64>,
    participants: i64,
}

/// An invite card's group.
#[derive(Default, Debug, Clone)]
pub struct InviteRow {
    pub group_row: Option<i64>,
    pub admin_row: Option<i64>,
    pub group_name: Option<String>,
    pub code: Option<String>,
    pub expiration: Option<i64>,
}

impl<'c> CardSides<'c> {
    pub fn open(conn: &'c Connection, messages: u64) -> Result<CardSides<'c>> {
        // An add-on's own expiry: 2.22 stores have only the first nine columns.
        let expiry = db::col_or_null(conn, "message_add_on", "a", "expiry_timestamp");
        // Only add-ons with their detail row: one without says nothing of the state.
        let marks = |detail: &str, state: &str, kind: i64| {
            let select = format!("d.{state}, COALESCE(d.sender_timestamp, a.timestamp), {expiry}");
            side::add_ons(conn, detail, "JOIN", &select, kind, messages)
        };
        let calls = if db::has_table(conn, "call_log") {
            let c = |column: &str| db::col_or_null(conn, "call_log", "c", column);
            let participants = if db::has_table(conn, "call_log_participant_v2") {
                "(SELECT count(*) FROM call_log_participant_v2 p WHERE p.call_log_row_id = c._id)"
            } else {
                "0"
            };
            Side::with_sql(
                conn,
                "message_call_log",
                "message_row_id",
                &format!(
                    "SELECT {}, {}, {}, {}, {participants}
                     FROM message_call_log t JOIN call_log c ON c._id = t.call_log_row_id
                     WHERE t.message_row_id = ?1 LIMIT 1",
                    c("video_call"),
                    c("duration"),
                    c("call_result"),
                    c("group_jid_row_id")
                ),
                messages,
            )?
        } else {
            None
        };
        let cols = |names: &[&str]| -> String {
            names.iter().map(|c| side::col(conn, "message_group_invite", c)).collect::<Vec<_>>().join(", ")
        };
        Ok(CardSides {
            pins: marks("message_add_on_pin_in_chat", "pin_in_chat_state", PIN)?,
            kept: marks("message_add_on_keep_in_chat", "keep_in_chat_state", KEEP_IN_CHAT)?,
            calls,
            invites: Side::open(
                conn,
                "message_group_invite",
                &cols(&["group_jid_row_id", "admin_jid_row_id", "group_name", "invite_code", "expiration"]),
                messages,
            )?,
        })
    }

    /// The pin rows and the keep-in-chat rows of message `id`, oldest first.
    pub fn marks(&mut self, id: i64) -> rusqlite::Result<(Vec<MarkRow>, Vec<MarkRow>)> {
        let read = |r: &rusqlite::Row| -> rusqlite::Result<MarkRow> {
            Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0) != 0, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        };
        let pins = match self.pins.as_mut() {
            Some(s) => s.all(id, read)?,
            None => Vec::new(),
        };
        let kept = match self.kept.as_mut() {
            Some(s) => s.all(id, read)?,
            None => Vec::new(),
        };
        Ok((pins, kept))
    }

    pub fn call(&mut self, id: i64) -> rusqlite::Result<Option<CallRow>> {
        let Some(s) = self.calls.as_mut() else { return Ok(None) };
        s.get(id, |r| {
            Ok(CallRow {
                video: r.get::<_, Option<i64>>(0)?.unwrap_or(0) != 0,
                duration_s: r.get(1)?,
                result: r.get(2)?,
                group_row: r.get(3)?,
                participants: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
            })
        })
    }

    pub fn invite(&mut self, id: i64) -> rusqlite::Result<Option<InviteRow>> {
        let Some(s) = self.invites.as_mut() else { return Ok(None) };
        s.get(id, |r| {
            Ok(InviteRow {
                group_row: r.get(0)?,
                admin_row: r.get(1)?,
                group_name: r.get(2)?,
                code: r.get(3)?,
                expiration: r.get(4)?,
            })
        })
    }
}

/// The current mark of `rows`: the latest row (by its time, a tie to the
/// later row) if it sets the mark (state 1), none if it took it back.
/// `person` names who did it (from me, sender row).
pub fn latest_mark(rows: &[MarkRow], person: &dyn Fn(bool, Option<i64>) -> Option<String>) -> Option<Pin> {
    let mut latest: Option<&MarkRow> = None;
    for row in rows {
        if latest.is_none_or(|l| row.3 >= l.3) {
            latest = Some(row);
        }
    }
    let (from_me, sender, state, time, expiry) = *latest?;
    (state == Some(1)).then(|| Pin {
        sender: person(from_me, sender),
        from_me,
        timestamp_ms: time,
        until_ms: expiry.filter(|t| *t > 0),
    })
}

/// The call of a call entry. A call that lasted was answered whatever its
/// result code says (§3.9: trust `duration` first); the codes are a public
/// exporter's reading of `call_result` [S].
pub fn call(row: &CallRow, from_me: bool) -> Call {
    let duration = row.duration_s.filter(|d| *d > 0);
    let outcome = match (duration, row.result) {
        (Some(_), _) | (None, Some(5)) => Some("answered"),
        (None, Some(2)) => Some("missed"),
        (None, Some(3)) => Some("unavailable"),
        (None, Some(0 | 4 | 7)) if from_me => Some("cancelled"),
        (None, Some(0 | 4 | 7)) => Some("missed"),
        _ => None,
    };
    Call {
        video: row.video,
        group: row.group_row.is_some_and(|g| g > 0) || row.participants > 1,
        duration_ms: duration.map(|d| d as u64 * 1000),
        outcome: outcome.map(String::from),
    }
}

/// The link an invite card opens.
pub fn invite_url(code: &str) -> String {
    format!("https://chat.whatsapp.com/{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_pin_row_says_whether_a_message_is_pinned() {
        let person = |me: bool, s: Option<i64>| if me { Some("me".to_string()) } else { s.map(|s| format!("p{s}")) };
        let pinned_then_unpinned =
            [(false, Some(1), Some(1), Some(10), Some(99)), (true, None, Some(0), Some(20), None)];
        assert_eq!(latest_mark(&pinned_then_unpinned, &person), None);
        // An older row later in the table does not win.
        let again = [(true, None, Some(1), Some(30), Some(0)), (false, Some(2), Some(0), Some(20), None)];
        let pin = latest_mark(&again, &person).unwrap();
        assert_eq!(
            (pin.sender.as_deref(), pin.from_me, pin.timestamp_ms, pin.until_ms),
            (Some("me"), true, Some(30), None)
        );
        assert_eq!(latest_mark(&[], &person), None);
    }

    #[test]
    fn a_call_that_lasted_was_answered_whatever_its_code() {
        let row = |d: Option<i64>, r: Option<i64>| CallRow { duration_s: d, result: r, ..Default::default() };
        assert_eq!(call(&row(Some(65), Some(2)), false).outcome.as_deref(), Some("answered"));
        assert_eq!(call(&row(Some(65), None), false).duration_ms, Some(65_000));
        assert_eq!(call(&row(None, Some(2)), true).outcome.as_deref(), Some("missed"));
        assert_eq!(call(&row(Some(0), Some(4)), true).outcome.as_deref(), Some("cancelled"));
        assert_eq!(call(&row(None, Some(4)), false).outcome.as_deref(), Some("missed"));
        assert_eq!(call(&row(None, Some(3)), false).outcome.as_deref(), Some("unavailable"));
        assert_eq!(call(&row(None, Some(42)), false).outcome, None);
        let group = CallRow { group_row: Some(7), video: true, ..Default::default() };
        assert!(call(&group, false).group && call(&group, false).video);
        assert!(!call(&CallRow { group_row: Some(0), participants: 1, ..Default::default() }, false).group);
    }
}
