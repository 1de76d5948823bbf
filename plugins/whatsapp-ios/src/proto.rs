//! Protobuf blobs in ChatStorage.sqlite.
//!
//! `ZWAMEDIAITEM.ZMETADATA`: field 5 = quoted message's stanza id, 6 =
//! quoted author JID [S public readers]; 7 = quoted text [U]. A text reply
//! therefore has a media item row that carries only this.
//!
//! `ZWAMESSAGEINFO.ZRECEIPTINFO` reactions: `7 { 1 { 1: stanza, 2: jid,
//! 3: emoji, 4: time } }` [U: the nesting is a public fixture's guess, the
//! inner fields match a public parser]. The raw blobs are also kept in
//! extras so an iOS → iOS conversion writes them back byte for byte.

use chatferry_core::Reaction;
use prost::Message as _;

#[derive(Clone, PartialEq, prost::Message)]
pub struct MediaMetadata {
    #[prost(string, optional, tag = "5")]
    pub quoted_stanza: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub quoted_author: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub quoted_text: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReceiptInfo {
    #[prost(message, optional, tag = "7")]
    pub reactions: Option<Reactions>,
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

/// For the fuzz target `whatsapp_ios_blobs` (fuzz/): `bytes` as each blob
/// the importer decodes.
#[doc(hidden)]
pub fn fuzz_blobs(bytes: &[u8]) {
    let _ = quote_of(bytes);
    let _ = reactions_of(bytes, Some(&"4915112345678@s.whatsapp.net".to_string()));
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
}
