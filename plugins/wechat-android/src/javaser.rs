//! A small, strict reader of Java's object serialization (the
//! `ObjectOutputStream` format, protocol version 5), enough for the two
//! `HashMap`s WeChat keeps in `MicroMsg/`: `CompatibleInfo.cfg` (key 258 =
//! the device id the database key was made with) and `systemInfo.cfg`
//! (key 1 = the uin).
//!
//! It reads the grammar of the Java Object Serialization Specification §6.4
//! in one pass: class descriptions, objects with their fields and
//! `writeObject` annotations, strings, arrays, enums, back-references.
//! Nothing is executed or looked up by class name; values are only data.
//! Limits keep a damaged or hostile file cheap: 1 MiB of input, 64 levels
//! of nesting, 200,000 handles, and shared objects are shared (`Rc`), never
//! copied, so a reference cannot multiply the work.

use std::rc::Rc;

pub const MAX_INPUT: usize = 1 << 20;
const MAX_DEPTH: usize = 64;
const MAX_HANDLES: usize = 200_000;
const BASE_HANDLE: u32 = 0x7e_0000;

const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_CLASS: u8 = 0x76;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const TC_RESET: u8 = 0x79;
const TC_BLOCKDATALONG: u8 = 0x7a;
const TC_LONGSTRING: u8 = 0x7c;
const TC_PROXYCLASSDESC: u8 = 0x7d;
const TC_ENUM: u8 = 0x7e;

const SC_WRITE_METHOD: u8 = 0x01;
const SC_SERIALIZABLE: u8 = 0x02;
const SC_EXTERNALIZABLE: u8 = 0x04;
const SC_BLOCK_DATA: u8 = 0x08;

/// A value read from the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Char(u16),
    Str(Rc<str>),
    Object(Rc<Object>),
    Array(Rc<Vec<Value>>),
    /// Raw bytes written by a class's own `writeObject` (block data).
    Block(Rc<Vec<u8>>),
    Enum(Rc<str>, Rc<str>),
    Class(Rc<str>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub class: Rc<str>,
    /// Every serializable field, superclasses first.
    pub fields: Vec<(Rc<str>, Value)>,
    /// What the classes' `writeObject` methods wrote after their fields.
    pub annotations: Vec<Value>,
}

impl Object {
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| &**n == name).map(|(_, v)| v)
    }
}

impl Value {
    /// A number, a string or a boxed number/boolean (`java.lang.Integer`…), as text.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(o) if o.class.starts_with("java.lang.") => o.field("value").and_then(Value::as_text),
            _ => None,
        }
    }
    /// An integer, or a boxed one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Object(o) if o.class.starts_with("java.lang.") => o.field("value").and_then(Value::as_int),
            _ => None,
        }
    }
}

struct ClassDesc {
    name: Rc<str>,
    flags: u8,
    /// (type code, name) in stream order.
    fields: Vec<(u8, Rc<str>)>,
    parent: Option<Rc<ClassDesc>>,
}

#[derive(Clone)]
enum Handle {
    Desc(Rc<ClassDesc>),
    Value(Value),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    handles: Vec<Handle>,
    depth: usize,
    /// Handles taken and not yet filled (objects being read).
    unfilled: usize,
}

type Res<T> = std::result::Result<T, String>;

impl<'a> Reader<'a> {
    fn fail<T>(&self, what: &str) -> Res<T> {
        Err(format!("{what} at byte {}", self.at))
    }
    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if self.bytes.len() - self.at < n {
            return self.fail("the data ends early");
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Res<u8> {
        Ok(self.take(1)?[0])
    }
    fn peek(&self) -> Res<u8> {
        self.bytes.get(self.at).copied().ok_or_else(|| format!("the data ends early at byte {}", self.at))
    }
    fn u16(&mut self) -> Res<u16> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn i32(&mut self) -> Res<i32> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn i64(&mut self) -> Res<i64> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    /// A length that must fit in what is left of the input.
    fn length(&mut self, n: i64, unit: usize) -> Res<usize> {
        if n < 0 || (n as u64).saturating_mul(unit as u64) > (self.bytes.len() - self.at) as u64 {
            return self.fail(&format!("a length of {n} that the data cannot hold"));
        }
        Ok(n as usize)
    }
    fn utf(&mut self, long: bool) -> Res<Rc<str>> {
        let n = if long { self.i64()? } else { i64::from(self.u16()?) };
        let n = self.length(n, 1)?;
        let raw = self.take(n)?;
        decode_modified_utf8(raw)
            .map(Rc::from)
            .ok_or_else(|| format!("a string that is not modified UTF-8 at byte {}", self.at))
    }
    fn new_handle(&mut self, h: Handle) -> Res<usize> {
        if self.handles.len() >= MAX_HANDLES {
            return self.fail("more objects than a settings file holds");
        }
        self.handles.push(h);
        Ok(self.handles.len() - 1)
    }
    /// A handle taken before its object is read (fields may refer to it),
    /// filled in by `fill` after.
    fn placeholder(&mut self) -> Res<usize> {
        let slot = self.new_handle(Handle::Value(Value::Null))?;
        self.unfilled += 1;
        Ok(slot)
    }
    fn fill(&mut self, slot: usize, h: Handle) -> Res<()> {
        self.unfilled -= 1;
        match self.handles.get_mut(slot) {
            Some(place) => {
                *place = h;
                Ok(())
            }
            None => self.fail("an object whose handle was reset while it was read"),
        }
    }
    fn reference(&mut self) -> Res<Handle> {
        let h = self.i32()? as u32;
        let index = h.wrapping_sub(BASE_HANDLE) as usize;
        self.handles.get(index).cloned().ok_or_else(|| format!("a reference to an unknown object at byte {}", self.at))
    }

    fn enter(&mut self) -> Res<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("objects nested deeper than a settings file has");
        }
        Ok(())
    }

    fn class_desc(&mut self) -> Res<Option<Rc<ClassDesc>>> {
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => match self.reference()? {
                Handle::Desc(d) => Ok(Some(d)),
                Handle::Value(_) => self.fail("a reference to an object where a class was expected"),
            },
            TC_CLASSDESC => {
                self.enter()?;
                let name = self.utf(false)?;
                let _serial_version = self.i64()?;
                // The handle is taken before the fields; fill it in after.
                let slot = self.placeholder()?;
                let flags = self.u8()?;
                let count = self.u16()?;
                let count = self.length(i64::from(count), 3)?;
                let mut fields = Vec::with_capacity(count);
                for _ in 0..count {
                    let code = self.u8()?;
                    let field_name = self.utf(false)?;
                    match code {
                        b'B' | b'C' | b'D' | b'F' | b'I' | b'J' | b'S' | b'Z' => {}
                        b'L' | b'[' => {
                            // The field's class name, a string object.
                            match self.content()? {
                                Value::Str(_) => {}
                                _ => return self.fail("a field type that is not a string"),
                            }
                        }
                        other => return self.fail(&format!("unknown field type {:?}", other as char)),
                    }
                    fields.push((code, field_name));
                }
                self.annotation()?;
                let parent = self.class_desc()?;
                let desc = Rc::new(ClassDesc { name, flags, fields, parent });
                self.fill(slot, Handle::Desc(desc.clone()))?;
                self.depth -= 1;
                Ok(Some(desc))
            }
            TC_PROXYCLASSDESC => self.fail("a proxy class (not in WeChat's settings)"),
            other => self.fail(&format!("unexpected byte 0x{other:02x} where a class was expected")),
        }
    }

    /// Contents up to and including TC_ENDBLOCKDATA.
    fn annotation(&mut self) -> Res<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            if self.peek()? == TC_ENDBLOCKDATA {
                self.at += 1;
                return Ok(out);
            }
            out.push(self.content()?);
        }
    }

    fn field_value(&mut self, code: u8) -> Res<Value> {
        Ok(match code {
            b'B' => Value::Int(i64::from(self.u8()? as i8)),
            b'C' => Value::Char(self.u16()?),
            b'D' => Value::Float(f64::from_bits(self.i64()? as u64)),
            b'F' => Value::Float(f64::from(f32::from_bits(self.i32()? as u32))),
            b'I' => Value::Int(i64::from(self.i32()?)),
            b'J' => Value::Int(self.i64()?),
            b'S' => Value::Int(i64::from(self.u16()? as i16)),
            b'Z' => Value::Bool(self.u8()? != 0),
            _ => self.content()?,
        })
    }

    /// One content item: an object or block data.
    fn content(&mut self) -> Res<Value> {
        let tc = self.u8()?;
        match tc {
            TC_NULL => Ok(Value::Null),
            TC_REFERENCE => match self.reference()? {
                Handle::Value(v) => Ok(v),
                Handle::Desc(d) => Ok(Value::Class(d.name.clone())),
            },
            TC_STRING | TC_LONGSTRING => {
                let s = self.utf(tc == TC_LONGSTRING)?;
                let v = Value::Str(s);
                self.new_handle(Handle::Value(v.clone()))?;
                Ok(v)
            }
            TC_BLOCKDATA => {
                let n = usize::from(self.u8()?);
                Ok(Value::Block(Rc::new(self.take(n)?.to_vec())))
            }
            TC_BLOCKDATALONG => {
                let n = i64::from(self.i32()?);
                let n = self.length(n, 1)?;
                Ok(Value::Block(Rc::new(self.take(n)?.to_vec())))
            }
            TC_CLASS => {
                let desc = self.class_desc()?;
                let v = Value::Class(desc.map(|d| d.name.clone()).unwrap_or_else(|| Rc::from("")));
                self.new_handle(Handle::Value(v.clone()))?;
                Ok(v)
            }
            TC_ENUM => {
                let desc = self.class_desc()?;
                let slot = self.placeholder()?;
                let name = match self.content()? {
                    Value::Str(s) => s,
                    _ => return self.fail("an enum constant without a name"),
                };
                let v = Value::Enum(desc.map(|d| d.name.clone()).unwrap_or_else(|| Rc::from("")), name);
                self.fill(slot, Handle::Value(v.clone()))?;
                Ok(v)
            }
            TC_ARRAY => {
                self.enter()?;
                let Some(desc) = self.class_desc()? else { return self.fail("an array without a class") };
                let slot = self.placeholder()?;
                let n = i64::from(self.i32()?);
                // Element type from the class name `[I`, `[B`, `[Ljava.lang.String;`…
                let code = desc.name.as_bytes().get(1).copied().unwrap_or(b'L');
                let width = match code {
                    b'B' | b'Z' => 1,
                    b'C' | b'S' => 2,
                    b'I' | b'F' => 4,
                    b'J' | b'D' => 8,
                    _ => 1,
                };
                let n = self.length(n, width)?;
                let v = if code == b'B' {
                    Value::Block(Rc::new(self.take(n)?.to_vec()))
                } else {
                    let mut items = Vec::with_capacity(n.min(4096));
                    for _ in 0..n {
                        items.push(self.field_value(code)?);
                    }
                    Value::Array(Rc::new(items))
                };
                self.fill(slot, Handle::Value(v.clone()))?;
                self.depth -= 1;
                Ok(v)
            }
            TC_OBJECT => {
                self.enter()?;
                let Some(desc) = self.class_desc()? else { return self.fail("an object without a class") };
                let slot = self.placeholder()?;
                // Class data goes from the topmost superclass down.
                let mut chain = vec![desc.clone()];
                while let Some(p) = chain.last().and_then(|d| d.parent.clone()) {
                    if chain.len() > MAX_DEPTH {
                        return self.fail("a class hierarchy deeper than a settings file has");
                    }
                    chain.push(p);
                }
                let mut object = Object { class: desc.name.clone(), fields: Vec::new(), annotations: Vec::new() };
                for class in chain.iter().rev() {
                    if class.flags & SC_EXTERNALIZABLE != 0 {
                        if class.flags & SC_BLOCK_DATA == 0 {
                            return self.fail("an old-style externalizable object (cannot be read without its class)");
                        }
                        object.annotations.extend(self.annotation()?);
                        continue;
                    }
                    if class.flags & SC_SERIALIZABLE == 0 {
                        continue;
                    }
                    for (code, name) in &class.fields {
                        let v = self.field_value(*code)?;
                        object.fields.push((name.clone(), v));
                    }
                    if class.flags & SC_WRITE_METHOD != 0 {
                        object.annotations.extend(self.annotation()?);
                    }
                }
                let v = Value::Object(Rc::new(object));
                self.fill(slot, Handle::Value(v.clone()))?;
                self.depth -= 1;
                Ok(v)
            }
            TC_RESET => {
                // Java writes a reset only between top-level objects; one
                // inside an object would orphan the handles being filled.
                if self.unfilled > 0 {
                    return self.fail("a reset inside an object");
                }
                self.handles.clear();
                // A run of resets is read here, not by recursion: 100,000
                // of them must not take the stack.
                while self.peek()? == TC_RESET {
                    self.at += 1;
                }
                self.content()
            }
            TC_ENDBLOCKDATA => self.fail("an end of block data where a value was expected"),
            other => self.fail(&format!("unexpected byte 0x{other:02x}")),
        }
    }
}

/// Java's modified UTF-8: NUL as `C0 80`, characters beyond U+FFFF as two
/// 3-byte surrogates.
fn decode_modified_utf8(raw: &[u8]) -> Option<String> {
    let mut units: Vec<u16> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let cont = |j: usize| raw.get(j).copied().filter(|c| c & 0xc0 == 0x80).map(|c| u16::from(c & 0x3f));
        if b & 0x80 == 0 && b != 0 {
            units.push(u16::from(b));
            i += 1;
        } else if b & 0xe0 == 0xc0 {
            units.push((u16::from(b & 0x1f) << 6) | cont(i + 1)?);
            i += 2;
        } else if b & 0xf0 == 0xe0 {
            units.push((u16::from(b & 0x0f) << 12) | (cont(i + 1)? << 6) | cont(i + 2)?);
            i += 3;
        } else {
            return None;
        }
    }
    String::from_utf16(&units).ok()
}

/// The first object of a serialized stream.
pub fn read(bytes: &[u8]) -> Res<Value> {
    if bytes.len() > MAX_INPUT {
        return Err(format!("{} bytes, more than a settings file holds", bytes.len()));
    }
    if bytes.len() < 4 || bytes[0..2] != [0xac, 0xed] {
        return Err("not Java serialized data (no 0xACED at its start)".into());
    }
    if bytes[2..4] != [0x00, 0x05] {
        return Err(format!(
            "Java serialization version {} (only 5 is known)",
            u16::from_be_bytes([bytes[2], bytes[3]])
        ));
    }
    let mut r = Reader { bytes, at: 4, handles: Vec::new(), depth: 0, unfilled: 0 };
    r.content()
}

/// The entries of a serialized `java.util.HashMap` (or `Hashtable`,
/// `LinkedHashMap`, `TreeMap`: all write their size in block data, then
/// key and value objects in turn).
pub fn read_map(bytes: &[u8]) -> Res<Vec<(Value, Value)>> {
    let Value::Object(map) = read(bytes)? else { return Err("it holds no object".into()) };
    if !matches!(
        &*map.class,
        "java.util.HashMap" | "java.util.LinkedHashMap" | "java.util.Hashtable" | "java.util.TreeMap"
    ) {
        return Err(format!("it holds a {}, not a map", map.class));
    }
    let items: Vec<&Value> = map.annotations.iter().filter(|v| !matches!(v, Value::Block(_))).collect();
    if items.len() % 2 != 0 {
        return Err("a map with a key but no value".into());
    }
    Ok(items.chunks(2).map(|kv| (kv[0].clone(), kv[1].clone())).collect())
}

/// The value under the integer key `key` in a serialized map, as text.
pub fn map_value(bytes: &[u8], key: i64) -> Res<Option<String>> {
    Ok(read_map(bytes)?.into_iter().find(|(k, _)| k.as_int() == Some(key)).and_then(|(_, v)| v.as_text()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `new HashMap<Integer, Object>()` with 1 → Integer(-1570123456) and
    /// 258 → "358240051111110", as Java 17's ObjectOutputStream wrote it.
    fn java_written() -> Vec<u8> {
        let hex = [
            "aced0005737200116a6176612e7574696c2e486173684d61700507dac1c31660d103000246000a6c6f6164466163746f",
            "724900097468726573686f6c6478703f4000000000000c77080000001000000002737200116a6176612e6c616e672e49",
            "6e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac95",
            "1d0b94e08b0200007870000000017371007e0002a269d1407371007e00020000010274000f3335383234303035313131",
            "3131313078",
        ];
        hex::decode(hex.concat()).unwrap()
    }

    #[test]
    fn reads_a_hashmap_of_integers_and_strings() {
        let bytes = java_written();
        assert_eq!(map_value(&bytes, 258).unwrap().as_deref(), Some("358240051111110"));
        assert_eq!(map_value(&bytes, 1).unwrap().as_deref(), Some("-1570123456"));
        assert_eq!(map_value(&bytes, 7).unwrap(), None);
        assert_eq!(read_map(&bytes).unwrap().len(), 2);
    }

    #[test]
    fn damaged_and_hostile_data_is_an_error_not_a_crash() {
        let bytes = java_written();
        for cut in 0..bytes.len() {
            assert!(read_map(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[3] = 9;
        assert!(read(&flipped).unwrap_err().contains("version 9"));
        assert!(read(b"<map></map>").unwrap_err().contains("0xACED"));
        // A reference to a handle that does not exist.
        let mut bad = vec![0xac, 0xed, 0x00, 0x05, 0x71, 0x00, 0x7e, 0x00, 0x09];
        assert!(read(&bad).unwrap_err().contains("unknown object"));
        // Arrays nested 40,000 deep (within the size limit): refused at the depth limit.
        bad.truncate(4);
        for _ in 0..40_000 {
            bad.extend([0x75, 0x72, 0x00, 0x02, b'[', b'L', 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x00, 0x78, 0x70]);
            bad.extend(1i32.to_be_bytes());
        }
        let err = read(&bad).unwrap_err();
        assert!(err.contains("nested deeper"), "{err}");
        // A string claiming more bytes than there are.
        let long = [0xac, 0xed, 0x00, 0x05, 0x7c, 0x7f, 0, 0, 0, 0, 0, 0, 0];
        assert!(read(&long).is_err());
        // 100,000 resets in a row: read in a loop, not one call each (the
        // stack overflowed and the process aborted).
        let mut resets = vec![0xac, 0xed, 0x00, 0x05];
        resets.extend(std::iter::repeat_n(TC_RESET, 100_000));
        resets.push(TC_NULL);
        assert!(matches!(read(&resets), Ok(Value::Null)));
        // A reset between taking an enum's or an array's handle and filling
        // it: an error (it indexed past the cleared handles and panicked).
        let desc = |name: &[u8]| {
            let mut d = vec![TC_CLASSDESC, 0, name.len() as u8];
            d.extend(name);
            d.extend([0; 8]);
            d.extend([0x12, 0, 0, TC_ENDBLOCKDATA, TC_NULL]);
            d
        };
        let mut enum_after_reset = vec![0xac, 0xed, 0x00, 0x05, TC_ENUM];
        enum_after_reset.extend(desc(b"E"));
        enum_after_reset.extend([TC_RESET, TC_STRING, 0, 1, b'X']);
        assert!(read(&enum_after_reset).unwrap_err().contains("reset inside an object"));
        let mut array_after_reset = vec![0xac, 0xed, 0x00, 0x05, TC_ARRAY];
        array_after_reset.extend(desc(b"[L"));
        array_after_reset.extend(1i32.to_be_bytes());
        array_after_reset.extend([TC_RESET, TC_NULL]);
        assert!(read(&array_after_reset).unwrap_err().contains("reset inside an object"));
        // Modified UTF-8 with a surrogate pair (an emoji) and an encoded NUL.
        assert_eq!(decode_modified_utf8(&[0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80, 0xc0, 0x80]).unwrap(), "😀\0");
    }
}
