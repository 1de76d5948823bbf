//! Phone numbers and the WhatsApp addresses made from them.
//!
//! A number a person types (`--opt owner=`, a contact map) becomes a
//! WhatsApp id only when it is unambiguous: in international form
//! (`+49 151 12345678`, `0049…`), or national with the country named
//! (`--opt region=DE`). `015112345678` alone would otherwise become
//! `015112345678@s.whatsapp.net`, the very form WhatsApp keeps for
//! placeholders, and nobody would be reached.

#[cfg(feature = "phone")]
use crate::error::{Error, Result};

/// `+49 151 1234-5678` (or `015112345678` with `region` `DE`) →
/// `+4915112345678`; otherwise a sentence saying what is wrong with `raw`
/// and how to give it.
#[cfg(feature = "phone")]
pub fn e164(raw: &str, region: Option<&str>) -> std::result::Result<String, String> {
    let t = raw.trim();
    let international = t.strip_prefix('+').or_else(|| t.strip_prefix("00"));
    let country = match (international, region) {
        (Some(_), _) => None,
        (None, None) => {
            return Err(format!(
                "{raw:?} has no country code: write it as +<country code><number> (e.g. +44 7700 900123), \
                 or name the country of national numbers with --opt region=GB"
            ))
        }
        (None, Some(r)) => Some(
            r.trim()
                .to_ascii_uppercase()
                .parse::<phonenumber::country::Id>()
                .map_err(|_| format!("region {r:?} is not a country: give its two-letter code (DE, GB, CN, US, …)"))?,
        ),
    };
    let text = match international {
        Some(rest) => format!("+{rest}"),
        None => t.to_string(),
    };
    let number = phonenumber::parse(country, &text).map_err(|_| format!("{raw:?} is not a phone number"))?;
    if !phonenumber::is_valid(&number) {
        let cc = number.code().value();
        return Err(format!(
            "{raw:?} is not a valid number for country code +{cc}: check it (if it is right, give its WhatsApp id \
             as <digits>@s.whatsapp.net)"
        ));
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// A number as a WhatsApp id: `+4915112345678` → `4915112345678@s.whatsapp.net`;
/// an id given as one (`…@s.whatsapp.net`, digits only) is taken as it is.
#[cfg(feature = "phone")]
pub fn whatsapp_id(raw: &str, region: Option<&str>) -> std::result::Result<String, String> {
    let t = raw.trim();
    if let Some(user) = t.strip_suffix("@s.whatsapp.net") {
        if !user.is_empty() && !user.starts_with('0') && user.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(t.to_string());
        }
        return Err(format!("{raw:?} is not a WhatsApp id: its number must be digits with the country code"));
    }
    Ok(format!("{}@s.whatsapp.net", e164(t, region)?.trim_start_matches('+')))
}

/// `--opt owner=+49 151 12345678` → `4915112345678@s.whatsapp.net`: the
/// owner's address, which WhatsApp's databases do not record.
#[cfg(feature = "phone")]
pub fn owner_jid(raw: Option<&str>, region: Option<&str>) -> Result<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    whatsapp_id(raw, region).map(Some).map_err(|why| Error::usage(format!("owner: {why}")))
}

/// A WhatsApp id for someone known only by name (or by another app's
/// id): a number no country code has (it starts with 0), stable for
/// `seed`. Every placeholder chatferry makes has this form.
pub fn placeholder_jid(seed: &str) -> String {
    format!("0{:014}@s.whatsapp.net", seeded_number(seed, 100_000_000_000_000))
}

/// Whether `jid` is a person's placeholder ([`placeholder_jid`]): a
/// number starting with 0, which no real account has.
pub fn is_placeholder_jid(jid: &str) -> bool {
    jid.strip_suffix("@s.whatsapp.net")
        .is_some_and(|user| user.len() > 1 && user.starts_with('0') && user.bytes().all(|b| b.is_ascii_digit()))
}

/// A group's WhatsApp id of the same kind (`0…@g.us`), stable for `seed`.
pub fn placeholder_group_jid(seed: &str) -> String {
    format!("0{:017}@g.us", seeded_number(seed, 100_000_000_000_000_000))
}

fn seeded_number(seed: &str, below: u64) -> u64 {
    use sha2::Digest;
    let h = sha2::Sha256::digest(seed.as_bytes());
    u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % below
}

/// `4915112345678@s.whatsapp.net` → `+4915112345678`; `None` for groups,
/// hidden-number (LID) addresses and placeholders.
pub fn phone_of_jid(jid: &str) -> Option<String> {
    let (user, server) = jid.split_once('@')?;
    // No country code starts with 0: `0…` is a placeholder (or the owner's `0`).
    (server == "s.whatsapp.net"
        && !user.is_empty()
        && !user.starts_with('0')
        && user.bytes().all(|b| b.is_ascii_digit()))
    .then(|| format!("+{user}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_stable_and_reach_nobody() {
        assert_eq!(placeholder_jid("Anna"), placeholder_jid("Anna"));
        assert_ne!(placeholder_jid("Anna"), placeholder_jid("Bo"));
        assert!(is_placeholder_jid(&placeholder_jid("Anna")));
        assert!(!is_placeholder_jid("4915112345678@s.whatsapp.net") && !is_placeholder_jid("0@s.whatsapp.net"));
        assert!(placeholder_jid("Anna").starts_with('0') && placeholder_jid("Anna").len() == 15 + 15);
        assert!(placeholder_group_jid("Family").ends_with("@g.us") && placeholder_group_jid("Family").starts_with('0'));
    }

    #[test]
    fn phones_of_ids() {
        assert_eq!(phone_of_jid("4915112345678@s.whatsapp.net").as_deref(), Some("+4915112345678"));
        for none in ["120363025246125486@g.us", "0@s.whatsapp.net", "187654321098765@lid", "status@broadcast", "x"] {
            assert_eq!(phone_of_jid(none), None, "{none}");
        }
        // A placeholder was taken for a number (+0…).
        assert_eq!(phone_of_jid(&placeholder_jid("Anna")), None);
    }

    #[cfg(feature = "phone")]
    #[test]
    fn numbers_need_a_country() {
        let ok = |raw: &str, region: Option<&str>| e164(raw, region).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(ok("+49 151 1234-5678", None), "+4915112345678");
        assert_eq!(ok("0049 151 12345678", None), "+4915112345678");
        assert_eq!(ok("015112345678", Some("de")), "+4915112345678");
        assert_eq!(ok("07911 123456", Some("GB")), "+447911123456");
        assert_eq!(ok("138 0013 8000", Some("CN")), "+8613800138000");
        assert_eq!(ok("+1 415 555 0123", None), "+14155550123");
        let err = |raw: &str, region: Option<&str>| e164(raw, region).unwrap_err();
        assert!(err("015112345678", None).contains("no country code"));
        assert!(err("07700 900123", None).contains("--opt region="));
        assert!(err("07700 900123", Some("XX")).contains("not a country"));
        assert!(err("+12", None).contains("not"), "{}", err("+12", None));
        assert!(err("alice", Some("DE")).contains("not a phone number"), "{}", err("alice", Some("DE")));
        assert!(
            err("+49 151 1", None).contains("not a valid number for country code +49"),
            "{}",
            err("+49 151 1", None)
        );
        assert_eq!(whatsapp_id("4915112345678@s.whatsapp.net", None).unwrap(), "4915112345678@s.whatsapp.net");
        assert!(whatsapp_id("015112345678@s.whatsapp.net", None).is_err(), "a leading 0 is a placeholder");
        assert_eq!(owner_jid(Some("+49 151 12345678"), None).unwrap().as_deref(), Some("4915112345678@s.whatsapp.net"));
        assert_eq!(owner_jid(None, None).unwrap(), None);
        let e = owner_jid(Some("015112345678"), None).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Usage);
    }
}
