//! `Extras`: native data the model has no field for, as a small map kept
//! sorted by key in one vector. A message usually carries one to three
//! entries; a `BTreeMap` allocated a 500-byte node for each and built and
//! tore it down again at every crossing of the plugin ABI, which at a
//! million messages was a fifth of the host's time. The API is the part of
//! `BTreeMap`'s the adapters use, and it serializes as the same JSON object
//! (keys in sorted order).

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Native data the model has no field for, kept so a same-format round trip
/// loses nothing. Keys are namespaced by the adapter that wrote them
/// (`wa.status`, `wechat.msgSvrId`, …); each key appears once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Extras {
    /// Sorted by key, keys unique.
    entries: Vec<(String, String)>,
}

impl Extras {
    pub fn new() -> Extras {
        Extras { entries: Vec::new() }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Sets `key`; returns the value it had.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut String) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// From entries already in strictly increasing key order (as another
    /// `Extras` gives them); anything else is sorted, a repeated key keeping
    /// its last value.
    pub fn from_entries(mut entries: Vec<(String, String)>) -> Extras {
        if !entries.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable sort, then keep the last of equal keys (as inserting in order would).
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(String, String)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                match out.last_mut() {
                    Some(last) if last.0 == k => last.1 = v,
                    _ => out.push((k, v)),
                }
            }
            entries = out;
        }
        Extras { entries }
    }
}

impl std::ops::Index<&str> for Extras {
    type Output = String;
    fn index(&self, key: &str) -> &String {
        self.get(key).unwrap_or_else(|| panic!("no extra {key:?}"))
    }
}

impl IntoIterator for Extras {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Extras {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (String, String)>, fn(&'a (String, String)) -> Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, String)> for Extras {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Extras {
        Extras::from_entries(iter.into_iter().collect())
    }
}

impl Extend<(String, String)> for Extras {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<const N: usize> From<[(String, String); N]> for Extras {
    fn from(entries: [(String, String); N]) -> Extras {
        entries.into_iter().collect()
    }
}

impl Serialize for Extras {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Extras {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Extras, D::Error> {
        struct ExtrasVisitor;
        impl<'de> Visitor<'de> for ExtrasVisitor {
            type Value = Extras;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Extras, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = map.next_entry::<String, String>()? {
                    entries.push(entry);
                }
                Ok(Extras::from_entries(entries))
            }
        }
        d.deserialize_map(ExtrasVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn behaves_like_the_btreemap_it_replaced() {
        // The same operations on both; every observable must agree.
        let mut e = Extras::new();
        let mut b = BTreeMap::new();
        for (k, v) in [("wa.key_id", "A"), ("wa.status", "5"), ("a", "1"), ("wa.key_id", "B"), ("z", ""), ("m", "x")] {
            assert_eq!(e.insert(s(k), s(v)), b.insert(s(k), s(v)));
        }
        assert_eq!(e.remove("m"), b.remove("m"));
        assert_eq!(e.remove("absent"), b.remove("absent"));
        e.retain(|k, _| k != "z");
        b.retain(|k, _| k != "z");
        assert_eq!(e.len(), b.len());
        assert_eq!(e.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
        assert_eq!(e.get("wa.key_id"), Some(&s("B")));
        assert!(e.contains_key("a") && !e.contains_key("wa"));
        assert_eq!(e["wa.status"], "5");
        // Same JSON, keys in order; and back.
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, serde_json::to_string(&b).unwrap());
        assert_eq!(json, r#"{"a":"1","wa.key_id":"B","wa.status":"5"}"#);
        assert_eq!(serde_json::from_str::<Extras>(&json).unwrap(), e);
        // Unsorted input with a repeated key: sorted, the last value wins.
        let unsorted: Extras = [(s("b"), s("1")), (s("a"), s("2")), (s("b"), s("3"))].into();
        assert_eq!(unsorted.into_iter().collect::<Vec<_>>(), vec![(s("a"), s("2")), (s("b"), s("3"))]);
        let from_json: Extras = serde_json::from_str(r#"{"b":"1","a":"2"}"#).unwrap();
        assert_eq!(from_json.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    }
}
