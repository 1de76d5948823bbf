//! The tables WeChat for iOS keeps, as quoted from real files in
//! shared/formats/wechat.md §2.2 (a `.schema` of MM.sqlite and
//! WCDB_Contact.sqlite; session.db's `SessionAbstract` is known only by the
//! columns readers select, so it is written with those).

/// One chat's message table, named by md5 of the chat's username.
pub fn chat_table(hash: &str) -> String {
    format!(
        "CREATE TABLE Chat_{hash} (TableVer INTEGER DEFAULT 1, MesLocalID INTEGER PRIMARY KEY AUTOINCREMENT, \
         MesSvrID INTEGER DEFAULT 0, CreateTime INTEGER DEFAULT 0, Message TEXT, Status INTEGER DEFAULT 0, \
         ImgStatus INTEGER DEFAULT 0, Type INTEGER, Des INTEGER);
         CREATE TABLE ChatExt2_{hash} (MesLocalID INTEGER PRIMARY KEY, msgFlag INTEGER DEFAULT 0, \
         ConIntRes2 INTEGER DEFAULT 0, ConIntRes3 INTEGER DEFAULT 0, MsgSource TEXT, MsgIdentify TEXT, \
         ConStrRes1 TEXT, ConStrRes2 TEXT, ConStrRes3 TEXT, ConIntRes1 INTEGER DEFAULT 0);"
    )
}

/// The indexes of a chat table, made after the bulk insert.
pub fn chat_indexes(hash: &str) -> String {
    format!(
        "CREATE INDEX Chat_{hash}_Index ON Chat_{hash}(MesSvrID);
         CREATE INDEX Chat_{hash}_Index2 ON Chat_{hash}(CreateTime);
         CREATE INDEX Chat_{hash}_Index3 ON Chat_{hash}(Status);"
    )
}

/// A friend-request thread (greetings from `UsrName`).
pub fn hello_table(hash: &str) -> String {
    format!(
        "CREATE TABLE Hello_{hash} (TableVer INTEGER DEFAULT 1, MesLocalID INTEGER PRIMARY KEY AUTOINCREMENT, \
         MesSvrID INTEGER DEFAULT 0, CreateTime INTEGER DEFAULT 0, Message TEXT, Status INTEGER DEFAULT 0, \
         ImgStatus INTEGER DEFAULT 0, Type INTEGER, Des INTEGER, OpCode INTEGER DEFAULT 0, UsrName TEXT);"
    )
}

pub const FRIEND: &str = "CREATE TABLE Friend (userName text primary key on conflict replace, type integer default 0, \
    certificationFlag integer default 0, imgStatus integer default 0, encodeUserName text, dbContactLocal blob, \
    dbContactOther blob, dbContactRemark blob, dbContactHeadImage blob, dbContactProfile blob, dbContactSocial blob, \
    dbContactChatRoom blob, dbContactBrand blob, _packed_DBContactTable blob);";

pub const SESSION: &str = "CREATE TABLE SessionAbstract (UsrName TEXT PRIMARY KEY, CreateTime INTEGER DEFAULT 0, \
    unreadcount INTEGER DEFAULT 0, ConStrRes1 TEXT, ConIntRes1 INTEGER DEFAULT 0);";
