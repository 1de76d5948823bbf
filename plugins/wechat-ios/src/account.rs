//! The account's owner: `Documents/<md5(wxid)>/mmsetting.archive` (an
//! NSKeyedArchiver plist whose `$objects[1]` holds `UsrName`, `NickName`,
//! `AliasName` as references into `$objects`), else a wxid whose md5 is
//! the folder name (MMappedKV file names, contacts). Written back the same
//! way by the exporter.

use chatferry_core::{Contact, Error, Result};
use plist::{Dictionary, Uid, Value};
use std::path::Path;

/// (wxid, nickname, alias) from an mmsetting.archive.
pub fn read_setting(path: &Path) -> Option<(String, Option<String>, Option<String>)> {
    let v = chatferry_core::ios_backup::read_plist(path, "the account's mmsetting.archive").ok()?;
    setting_of(&v)
}

/// (wxid, nickname, alias) from an mmsetting.archive's plist.
pub fn setting_of(v: &Value) -> Option<(String, Option<String>, Option<String>)> {
    let objects = v.as_dictionary()?.get("$objects")?.as_array()?;
    let top = objects.get(1)?.as_dictionary()?;
    let get = |key: &str| -> Option<String> {
        let s = match top.get(key)? {
            Value::Uid(u) => objects.get(u.get() as usize)?.as_string()?.to_string(),
            Value::String(s) => s.clone(),
            _ => return None,
        };
        Some(s).filter(|s| !s.is_empty() && s != "$null")
    };
    Some((get("UsrName")?, get("NickName"), get("AliasName")))
}

/// An mmsetting.archive naming the owner.
pub fn write_setting(path: &Path, owner: &Contact) -> Result<()> {
    let mut objects = vec![Value::String("$null".into())];
    let mut top = Dictionary::new();
    let mut strings = vec![("UsrName", Some(owner.id.clone()))];
    strings.push(("NickName", owner.nickname.clone().or(owner.name.clone())));
    strings.push(("AliasName", owner.alias.clone()));
    objects.push(Value::Dictionary(Dictionary::new())); // filled below
    for (key, value) in strings {
        if let Some(v) = value {
            top.insert(key.into(), Value::Uid(Uid::new(objects.len() as u64)));
            objects.push(Value::String(v));
        }
    }
    let mut class = Dictionary::new();
    class.insert("$classname".into(), Value::String("CSettingData".into()));
    class.insert("$classes".into(), Value::Array(vec!["CSettingData".into(), "NSObject".into()]));
    top.insert("$class".into(), Value::Uid(Uid::new(objects.len() as u64)));
    objects.push(Value::Dictionary(class));
    objects[1] = Value::Dictionary(top);
    let mut root = Dictionary::new();
    root.insert("$archiver".into(), Value::String("NSKeyedArchiver".into()));
    root.insert("$version".into(), Value::Integer(100000.into()));
    let mut t = Dictionary::new();
    t.insert("root".into(), Value::Uid(Uid::new(1)));
    root.insert("$top".into(), Value::Dictionary(t));
    root.insert("$objects".into(), Value::Array(objects));
    Value::Dictionary(root)
        .to_file_binary(path)
        .map_err(|e| Error::internal(format!("writing {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mmsetting.archive");
        let owner = Contact {
            id: "wxid_me".into(),
            nickname: Some("我".into()),
            alias: Some("me_alias".into()),
            ..Default::default()
        };
        write_setting(&p, &owner).unwrap();
        assert_eq!(read_setting(&p), Some(("wxid_me".into(), Some("我".into()), Some("me_alias".into()))));
    }
}
