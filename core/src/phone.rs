//! Phone numbers and the WhatsApp addresses made from them.

use crate::error::{Error, Result};

/// `--opt owner=+49 151 12345678` → `4915112345678@s.whatsapp.net`: the
/// owner's address, which WhatsApp's databases do not record.
pub fn owner_jid(raw: Option<&str>) -> Result<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() < 6 || raw.chars().any(|c| c.is_alphabetic()) {
        return Err(Error::usage(format!(
            "owner {raw:?} is not a phone number; give it with country code, e.g. +4915112345678"
        )));
    }
    Ok(Some(format!("{digits}@s.whatsapp.net")))
}

/// `4915112345678@s.whatsapp.net` → `+4915112345678`; `None` for groups,
/// hidden-number (LID) addresses and placeholders.
pub fn phone_of_jid(jid: &str) -> Option<String> {
    let (user, server) = jid.split_once('@')?;
    (server == "s.whatsapp.net" && !user.is_empty() && user != "0" && user.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("+{user}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_and_phones() {
        assert_eq!(owner_jid(Some("+49 151 1234-5678")).unwrap().as_deref(), Some("4915112345678@s.whatsapp.net"));
        assert_eq!(owner_jid(None).unwrap(), None);
        assert!(owner_jid(Some("alice")).is_err());
        assert!(owner_jid(Some("+12")).is_err());
        assert_eq!(phone_of_jid("4915112345678@s.whatsapp.net").as_deref(), Some("+4915112345678"));
        for none in ["120363025246125486@g.us", "0@s.whatsapp.net", "187654321098765@lid", "status@broadcast", "x"] {
            assert_eq!(phone_of_jid(none), None, "{none}");
        }
    }
}
