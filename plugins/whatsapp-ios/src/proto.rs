//! Protobuf blobs in ChatStorage.sqlite.
//!
//! `ZWAMEDIAITEM.ZMETADATA`: field 5 = quoted message's stanza id, 6 =
//! quoted author JID [S public readers]; 7 = quoted text [U]. A text reply
//! therefore has a media item row that carries only this.
//!
//! `ZWAMESSAGEINFO.ZRECEIPTINFO` reactions: `7 { 1 { 1: stanza, 2: jid,
//! 3: emoji, 4: time } }` [U: the nesting is a public fixture's guess, the
//! inner fields match a public parser]. A poll (type 46) is field 8 of the
//! same blob: `8 { 2: question, 3 { 1: option }…, 5: vote…, 6: the
//! creator's vote }`, a vote `{ 1: option indexes…, 4: voter }`; a call
//! entry's (type 59) length is `ZMETADATA` field `87 { 1 { 3: seconds } }`
//! [S: two public readers each; U: not seen on a real store here,
//! whatsapp-2024-2026.md §3.2, §3.9]. The raw blobs are also kept in
//! extras so an iOS → iOS conversion writes them back byte for byte.

use chatferry_core::{Poll, PollOption, PollVote, Reaction};
use prost::Message as _;

#[derive(Clone, PartialEq, prost::Message)]
pub struct MediaMetadata {
    #[prost(string, optional, tag = "5")]
    pub quoted_stanza: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub quoted_author: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub quoted_text: Option<String>,
    #[prost(message, optional, tag = "87")]
    pub call: Option<CallInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CallInfo {
    #[prost(message, optional, tag = "1")]
    pub detail: Option<CallDetail>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CallDetail {
    /// Seconds; 0 = not answered [U].
    #[prost(uint64, optional, tag = "3")]
    pub duration: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReceiptInfo {
    #[prost(message, optional, tag = "7")]
    pub reactions: Option<Reactions>,
    #[prost(message, optional, tag = "8")]
    pub poll: Option<PollInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PollInfo {
    #[prost(string, optional, tag = "2")]
    pub question: Option<String>,
    #[prost(message, repeated, tag = "3")]
    pub options: Vec<PollOptionInfo>,
    #[prost(message, repeated, tag = "5")]
    pub votes: Vec<PollVoteInfo>,
    #[prost(message, optional, tag = "6")]
    pub own_vote: Option<PollVoteInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PollOptionInfo {
    #[prost(string, optional, tag = "1")]
    pub text: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PollVoteInfo {
    /// Indexes into the options, from 0.
    #[prost(uint32, repeated, tag = "1")]
    pub selected: Vec<u32>,
    #[prost(string, optional, tag = "4")]
    pub voter: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Reactions {
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<ReactionItem>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReactionItem {
    #[prost(string, optional, tag = "1")]
    pub stanza: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub jid: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub emoji: Option<String>,
    /// Unix milliseconds [U].
    #[prost(int64, optional, tag = "4")]
    pub timestamp: Option<i64>,
}

/// The quoted message's stanza id and text in a ZMETADATA blob; none when
/// the blob does not decode or quotes nothing.
pub fn quote_of(blob: &[u8]) -> Option<(String, Option<String>)> {
    let md = MediaMetadata::decode(blob).ok()?;
    Some((md.quoted_stanza?, md.quoted_text))
}

/// The reactions in a ZRECEIPTINFO blob (none when it does not decode); a
/// reaction without a sender, or by `owner`, is the owner's.
pub fn reactions_of(blob: &[u8], owner: Option<&String>) -> Vec<Reaction> {
    let Ok(info) = ReceiptInfo::decode(blob) else { return Vec::new() };
    let mut out = Vec::new();
    for item in info.reactions.map(|r| r.items).unwrap_or_default() {
        let Some(emoji) = item.emoji.filter(|e| !e.is_empty()) else { continue };
        let jid = item.jid.filter(|j| !j.is_empty());
        let from_me = jid.is_none() || jid.as_ref() == owner;
        out.push(Reaction {
            sender: if from_me { owner.cloned() } else { jid },
            from_me,
            emoji,
            timestamp_ms: item.timestamp,
        });
    }
    out
}

/// The poll in a type-46 message's ZRECEIPTINFO blob; none when the blob
/// holds no poll. `creator` is who sent the poll (their vote is field 6);
/// `person` turns a voter's address into the one the chat knows them by.
pub fn poll_of(blob: &[u8], creator: (bool, Option<&String>), person: &dyn Fn(&str) -> String) -> Option<Poll> {
    let info = ReceiptInfo::decode(blob).ok()?.poll?;
    let mut options: Vec<PollOption> = info
        .options
        .iter()
        .map(|o| PollOption { text: o.text.clone().unwrap_or_default(), voters: Vec::new() })
        .collect();
    if options.is_empty() && info.question.is_none() {
        return None;
    }
    let mut votes = Vec::new();
    let own = info.own_vote.map(|v| (creator.0, creator.1.cloned(), v.selected));
    let others = info.votes.into_iter().map(|v| {
        let voter = v.voter.filter(|j| !j.is_empty()).map(|j| person(&j));
        let from_me = voter.is_some() && voter.as_ref() == creator.1.filter(|_| creator.0);
        (from_me, voter, v.selected)
    });
    for (from_me, voter, selected) in own.into_iter().chain(others) {
        // An index past the options (a damaged blob) names nothing.
        let chosen: Vec<u32> = selected.into_iter().filter(|i| (*i as usize) < options.len()).collect();
        if let Some(who) = &voter {
            for i in &chosen {
                options[*i as usize].voters.push(who.clone());
            }
        }
        votes.push(PollVote { voter, from_me, options: chosen, timestamp_ms: None });
    }
    Some(Poll { question: info.question.unwrap_or_default(), options, multiple: false, correct: None, votes })
}

/// The length in seconds of a call entry's call (type 59), from its ZMETADATA blob.
pub fn call_seconds(blob: &[u8]) -> Option<u64> {
    MediaMetadata::decode(blob).ok()?.call?.detail?.duration
}

/// For the fuzz target `whatsapp_ios_blobs` (fuzz/): `bytes` as each blob
/// the importer decodes.
#[doc(hidden)]
pub fn fuzz_blobs(bytes: &[u8]) {
    let _ = quote_of(bytes);
    let owner = "4915112345678@s.whatsapp.net".to_string();
    let _ = reactions_of(bytes, Some(&owner));
    let _ = poll_of(bytes, (true, Some(&owner)), &|j| j.to_string());
    let _ = call_seconds(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_reply_starts_as_public_readers_expect() {
        // Readers detect replies by `2A 14`: field 5, 20 bytes.
        let m = MediaMetadata { quoted_stanza: Some("3A0123456789ABCDEF01".into()), ..Default::default() };
        let b = m.encode_to_vec();
        assert_eq!(&b[..2], &[0x2a, 0x14]);
        assert_eq!(MediaMetadata::decode(b.as_slice()).unwrap(), m);
    }

    #[test]
    fn a_poll_reads_with_every_voter_and_a_call_with_its_length() {
        let voter = |selected: Vec<u32>, j: &str| PollVoteInfo { selected, voter: Some(j.into()) };
        let info = ReceiptInfo {
            reactions: None,
            poll: Some(PollInfo {
                question: Some("Wohin? 🍕".into()),
                options: ["饺子", "Pizza"].iter().map(|t| PollOptionInfo { text: Some(t.to_string()) }).collect(),
                votes: vec![voter(vec![1], "1234567@lid"), voter(vec![0, 7], "4915187654321@s.whatsapp.net")],
                own_vote: Some(PollVoteInfo { selected: vec![1], voter: None }),
            }),
        };
        let owner = "4915112345678@s.whatsapp.net".to_string();
        let person =
            |j: &str| if j == "1234567@lid" { "8613800138000@s.whatsapp.net".to_string() } else { j.to_string() };
        let p = poll_of(&info.encode_to_vec(), (true, Some(&owner)), &person).unwrap();
        assert_eq!(p.question, "Wohin? 🍕");
        assert_eq!(p.options[1].voters, [owner.as_str(), "8613800138000@s.whatsapp.net"], "the LID voter by number");
        assert_eq!(p.options[0].voters, ["4915187654321@s.whatsapp.net"]);
        assert_eq!(p.votes[2].options, [0], "an index past the options names nothing");
        assert!(p.votes[0].from_me && !p.votes[1].from_me);
        // A blob with reactions only has no poll.
        assert!(poll_of(
            &ReceiptInfo { reactions: Some(Reactions { items: vec![] }), poll: None }.encode_to_vec(),
            (false, None),
            &person
        )
        .is_none());
        let call = MediaMetadata {
            call: Some(CallInfo { detail: Some(CallDetail { duration: Some(65) }) }),
            ..Default::default()
        };
        assert_eq!(call_seconds(&call.encode_to_vec()), Some(65));
        assert_eq!(call_seconds(&MediaMetadata::default().encode_to_vec()), None);
    }
}
