//! The protobuf blobs of `WCDB_Contact.sqlite` `Friend` rows
//! (shared/formats/wechat.md §2.4). Strings are read as bytes and decoded
//! leniently: a damaged name must not lose the contact.

#[derive(Clone, PartialEq, prost::Message)]
pub struct Remark {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub nickname: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub alias: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub remark: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Social {
    #[prost(bytes = "vec", optional, tag = "11")]
    pub phone: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChatRoom {
    /// Member usernames joined by `;`.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub members: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub owner: Option<Vec<u8>>,
    #[prost(uint32, optional, tag = "4")]
    pub max_members: Option<u32>,
    /// `<RoomData><Member UserName="wxid"><DisplayName>…</DisplayName></Member>…</RoomData>`.
    #[prost(bytes = "vec", optional, tag = "6")]
    pub room_data: Option<Vec<u8>>,
}

/// A field as text; empty is none.
pub fn text(field: &Option<Vec<u8>>) -> Option<String> {
    field.as_ref().map(|b| String::from_utf8_lossy(b).trim().to_string()).filter(|s| !s.is_empty())
}

/// A text for a field; empty is left out.
pub fn field(s: Option<&str>) -> Option<Vec<u8>> {
    s.filter(|s| !s.is_empty()).map(|s| s.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn remark_fields_are_1_2_3() {
        let r = Remark { nickname: field(Some("张伟")), alias: field(Some("zw")), remark: field(Some("老张")) };
        let bytes = r.encode_to_vec();
        // field 1, wire type 2 (0x0a), length 6, then the UTF-8 of 张伟.
        assert_eq!(&bytes[..2], &[0x0a, 6]);
        let back = Remark::decode(bytes.as_slice()).unwrap();
        assert_eq!(text(&back.remark).as_deref(), Some("老张"));
    }
}
