//! Polls, quizzes and events (WhatsApp 2023+) with every vote and answer:
//! `message_poll` and `message_poll_option`, the poll-vote add-ons (type
//! 67) with their chosen options; `message_event` and the event-response
//! add-ons (type 93). shared/formats/whatsapp-2024-2026.md §3.1–3.3. A store
//! without these tables (2.22 and older) reads none.

use super::side::{self, Side};
use chatferry_core::sqlite as db;
use chatferry_core::{Event, EventResponse, Poll, PollOption, PollVote, Result};
use rusqlite::Connection;

/// The add-on types this module reads.
const VOTE: i64 = 67;
const RESPONSE: i64 = 93;

pub struct PollEventSides<'c> {
    poll: Option<Side<'c>>,
    options: Option<Side<'c>>,
    votes: Option<Side<'c>>,
    event: Option<Side<'c>>,
    responses: Option<Side<'c>>,
}

/// A poll's rows as the store has them.
#[derive(Default)]
pub struct PollRows {
    poll_type: Option<i64>,
    correct_option: Option<i64>,
    selectable: Option<i64>,
    /// (`message_poll_option._id`, text), in `_id` order.
    options: Vec<(i64, Option<String>)>,
    /// (from me, sender `jid._id`, time, chosen option ids joined by commas), in add-on order.
    votes: Vec<(bool, Option<i64>, Option<i64>, Option<String>)>,
}

/// An event's row and its answers.
#[derive(Default)]
pub struct EventRows {
    name: Option<String>,
    description: Option<String>,
    start: Option<i64>,
    end: Option<i64>,
    place: Option<String>,
    address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    link: Option<String>,
    canceled: bool,
    /// (from me, sender `jid._id`, response code, extra guests, time).
    responses: Vec<(bool, Option<i64>, Option<i64>, Option<i64>, Option<i64>)>,
}

impl<'c> PollEventSides<'c> {
    pub fn open(conn: &'c Connection, messages: u64) -> Result<PollEventSides<'c>> {
        let cols = |table: &str, names: &[&str]| -> String {
            names.iter().map(|c| side::col(conn, table, c)).collect::<Vec<_>>().join(", ")
        };
        let add_ons =
            |detail: &str, select: &str, kind: i64| side::add_ons(conn, detail, "LEFT JOIN", select, kind, messages);
        let chosen = if db::has_table(conn, "message_add_on_poll_vote_selected_option") {
            "(SELECT group_concat(s.message_poll_option_id) FROM message_add_on_poll_vote_selected_option s
              WHERE s.message_add_on_row_id = a._id)"
        } else {
            "NULL"
        };
        let vote_time = if db::has_column(conn, "message_add_on_poll_vote", "sender_timestamp") {
            "COALESCE(d.sender_timestamp, a.timestamp)"
        } else {
            "a.timestamp"
        };
        Ok(PollEventSides {
            poll: Side::open(
                conn,
                "message_poll",
                &cols("message_poll", &["poll_type", "correct_option_id", "selectable_options_count"]),
                messages,
            )?,
            options: Side::with_sql(
                conn,
                "message_poll_option",
                "message_row_id",
                "SELECT _id, option_name FROM message_poll_option WHERE message_row_id = ?1 ORDER BY _id",
                messages,
            )?,
            votes: add_ons("message_add_on_poll_vote", &format!("{vote_time}, {chosen}"), VOTE)?,
            event: Side::open(
                conn,
                "message_event",
                &cols(
                    "message_event",
                    &[
                        "name",
                        "description",
                        "start_time",
                        "end_time",
                        "location_name",
                        "location_address",
                        "location_latitude",
                        "location_longitude",
                        "join_link",
                        "is_canceled",
                    ],
                ),
                messages,
            )?,
            responses: add_ons(
                "message_add_on_event_response",
                "d.response, d.extra_guest_count, COALESCE(d.sender_timestamp, a.timestamp)",
                RESPONSE,
            )?,
        })
    }

    pub fn poll(&mut self, id: i64) -> rusqlite::Result<PollRows> {
        let mut rows = PollRows::default();
        if let Some(s) = self.poll.as_mut() {
            s.get(id, |r| {
                rows.poll_type = r.get(0)?;
                rows.correct_option = r.get(1)?;
                rows.selectable = r.get(2)?;
                Ok(())
            })?;
        }
        if let Some(s) = self.options.as_mut() {
            rows.options = s.all(id, |r| Ok((r.get(0)?, r.get(1)?)))?;
        }
        if let Some(s) = self.votes.as_mut() {
            rows.votes =
                s.all(id, |r| Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0) != 0, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        }
        Ok(rows)
    }

    pub fn event(&mut self, id: i64) -> rusqlite::Result<Option<EventRows>> {
        let Some(s) = self.event.as_mut() else { return Ok(None) };
        let Some(mut rows) = s.get(id, |r| {
            Ok(EventRows {
                name: r.get(0)?,
                description: r.get(1)?,
                start: r.get(2)?,
                end: r.get(3)?,
                place: r.get(4)?,
                address: r.get(5)?,
                latitude: r.get(6)?,
                longitude: r.get(7)?,
                link: r.get(8)?,
                canceled: r.get::<_, Option<i64>>(9)?.unwrap_or(0) != 0,
                responses: Vec::new(),
            })
        })?
        else {
            return Ok(None);
        };
        if let Some(s) = self.responses.as_mut() {
            rows.responses = s.all(id, |r| {
                Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0) != 0, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
        }
        Ok(Some(rows))
    }
}

fn text(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// The poll of `rows` (`question`: the message's text). A voter who voted
/// again counts once, by their latest vote; `person` names who voted
/// (from me, sender row).
pub fn poll(rows: PollRows, question: Option<String>, person: &dyn Fn(bool, Option<i64>) -> Option<String>) -> Poll {
    let positions: std::collections::HashMap<i64, u32> =
        rows.options.iter().enumerate().map(|(i, (id, _))| (*id, i as u32)).collect();
    let index = |option_id: i64| positions.get(&option_id).copied();
    let mut votes: Vec<PollVote> = Vec::new();
    // Where each voter's vote is in `votes` (a poll may have many voters).
    let mut at_of: std::collections::HashMap<(bool, Option<String>), usize> = Default::default();
    for (from_me, sender, time, chosen) in &rows.votes {
        let voter = person(*from_me, *sender);
        let options: Vec<u32> = chosen
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter_map(|id| id.trim().parse().ok())
            .filter_map(index)
            .collect();
        let vote = PollVote { voter, from_me: *from_me, options, timestamp_ms: *time };
        // One current vote per person: the latest (a tie goes to the later row).
        match at_of.get(&(vote.from_me, vote.voter.clone())) {
            Some(&at) if votes[at].timestamp_ms > vote.timestamp_ms => {}
            Some(&at) => votes[at] = vote,
            None => {
                at_of.insert((vote.from_me, vote.voter.clone()), votes.len());
                votes.push(vote);
            }
        }
    }
    let mut options: Vec<PollOption> = rows
        .options
        .iter()
        .map(|(_, name)| PollOption { text: name.clone().unwrap_or_default(), voters: Vec::new() })
        .collect();
    for v in &votes {
        for i in &v.options {
            if let (Some(o), Some(who)) = (options.get_mut(*i as usize), &v.voter) {
                o.voters.push(who.clone());
            }
        }
    }
    votes.sort_by_key(|v| v.timestamp_ms);
    Poll {
        question: question.unwrap_or_default(),
        options,
        // 1: one choice; 0 (or a larger number): several (§3.2).
        multiple: rows.selectable.is_some_and(|n| n != 1),
        // A quiz (`poll_type` ≠ 0) names its right option by `_id`.
        correct: rows.correct_option.filter(|_| rows.poll_type.unwrap_or(0) != 0).and_then(index),
        votes,
    }
}

/// The event of `rows`; `person` as for [`poll`].
pub fn event(rows: EventRows, person: &dyn Fn(bool, Option<i64>) -> Option<String>) -> Event {
    // `start_time` holds milliseconds despite its DATETIME type (§3.3); a
    // value that can only be seconds is taken as seconds.
    let ms =
        |t: Option<i64>| t.filter(|t| *t != 0).map(|t| if t.unsigned_abs() < 100_000_000_000 { t * 1000 } else { t });
    Event {
        name: rows.name.unwrap_or_default(),
        description: text(rows.description),
        start_ms: ms(rows.start),
        end_ms: ms(rows.end),
        place: text(rows.place),
        address: text(rows.address),
        latitude: rows.latitude,
        longitude: rows.longitude,
        link: text(rows.link),
        canceled: rows.canceled,
        responses: rows
            .responses
            .into_iter()
            .map(|(from_me, sender, response, guests, time)| EventResponse {
                person: person(from_me, sender),
                from_me,
                // 1 = going is verified (the app's "events I'm going to");
                // 2 and 3 follow the wire protocol's answer codes [U].
                answer: match response.unwrap_or(0) {
                    1 => "going".into(),
                    2 => "not_going".into(),
                    3 => "maybe".into(),
                    n => format!("code {n}"),
                },
                extra_guests: guests.and_then(|g| u32::try_from(g).ok()).filter(|g| *g > 0),
                timestamp_ms: time,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_voters_latest_vote_counts_and_unknown_options_are_left_out() {
        let rows = PollRows {
            poll_type: Some(0),
            correct_option: Some(20),
            selectable: Some(0),
            options: vec![(10, Some("a".into())), (20, Some("b".into()))],
            votes: vec![
                (false, Some(1), Some(5), Some("10".into())),
                // An older vote in a later row does not replace the newer one.
                (false, Some(1), Some(3), Some("20".into())),
                (true, None, Some(4), Some("10,99".into())),
            ],
        };
        let person = |me: bool, s: Option<i64>| if me { Some("me".to_string()) } else { s.map(|s| format!("p{s}")) };
        let p = poll(rows, Some("Q".into()), &person);
        assert!(p.multiple && p.correct.is_none(), "0 choices: several; poll_type 0: not a quiz");
        let votes: Vec<(Option<&str>, &[u32])> = p.votes.iter().map(|v| (v.voter.as_deref(), &v.options[..])).collect();
        assert_eq!(votes, [(Some("me"), &[0u32][..]), (Some("p1"), &[0][..])]);
        assert_eq!(p.options[0].voters, ["p1", "me"]);
        assert!(p.options[1].voters.is_empty());
        // A start time that can only be seconds, and a hostile one.
        let rows =
            EventRows { start: Some(1_700_000_000), end: Some(i64::MIN), responses: vec![], ..Default::default() };
        let e = event(rows, &person);
        assert_eq!((e.start_ms, e.end_ms), (Some(1_700_000_000_000), Some(i64::MIN)));
    }
}
