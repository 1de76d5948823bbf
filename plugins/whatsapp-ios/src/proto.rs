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
