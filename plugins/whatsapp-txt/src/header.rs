//! The header that starts each message line of an export: its date, time
//! and what follows (author and body), in every shape real exports have
//! (formats doc §1–2): Android `6/30/23, 16:14 - `, iPhone
//! `[30/06/2023, 16:14:05] `, old `09/12/2012 17:03:48: `, with `/ . -`
//! date separators, `:`/`.` in times, 12-hour markers after U+202F/U+00A0
//! (`PM`, `pm`, `p. m.`, `p.m.`), a word like `klo` between date and time,
//! and U+200E/U+200F marks before it all. One linear pass, no backtracking.
//!
//! Which field of the date is the day is not known from one line: the
//! fields are kept as read, and [`Orders`] decides per file (and per shape
//! of date, for the real file that mixes two).

/// A line's header, the date's fields as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub fields: [u32; 3],
    pub shape: Shape,
    pub hour: u32,
    pub minute: u32,
    pub second: Option<u32>,
    /// `Some(true)` for PM, `Some(false)` for AM, `None` on a 24-hour clock.
    pub pm: Option<bool>,
    /// The iPhone's `[…]` form.
    pub bracketed: bool,
    /// What follows the header: `Author: body`, or a system line.
    pub rest: &'a str,
}

/// How a line writes its date: the files that mix two formats mix two shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    pub separator: char,
    pub year_first: bool,
    pub last_digits: u8,
    pub bracketed: bool,
}

/// Marks WhatsApp puts in headers, taken as spaces there (never in bodies).
#[inline]
fn is_mark(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{feff}')
}

#[inline]
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}') || is_mark(c)
}

struct Scan<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Scan<'a> {
    #[inline]
    fn peek(&self) -> Option<char> {
        match self.s.as_bytes().get(self.i) {
            Some(&b) if b < 0x80 => Some(b as char),
            Some(_) => self.s[self.i..].chars().next(),
            None => None,
        }
    }
    #[inline]
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }
    #[inline]
    fn spaces(&mut self) -> usize {
        let mut n = 0;
        while let Some(c) = self.peek().filter(|c| is_space(*c)) {
            self.i += c.len_utf8();
            n += 1;
        }
        n
    }
    /// 1 to `max` ASCII digits (`max` ≤ 4: the value cannot overflow).
    #[inline]
    fn number(&mut self, max: usize) -> Option<(u32, u8)> {
        let mut n = 0u32;
        let mut digits = 0;
        for &b in self.s.as_bytes()[self.i..].iter().take(max + 1) {
            if !b.is_ascii_digit() {
                break;
            }
            n = n * 10 + u32::from(b - b'0');
            digits += 1;
        }
        if digits == 0 || digits > max {
            return None;
        }
        self.i += digits;
        Some((n, digits as u8))
    }
}

/// The header of `line`, or `None` when the line continues a message.
pub fn parse(line: &str) -> Option<Header<'_>> {
    fixed_width(line).or_else(|| parse_any(line))
}

/// The commonest shapes, Android's `30/06/2023, 16:14 - ` and the
/// iPhone's `[30/06/2023, 16:14:05] ` (or with a two-digit year, `.` or `-`
/// between the date's fields), read at fixed places: what `parse_any` makes
/// of them, without scanning (every line of both passes starts here).
/// `None` when the line is not exactly one of them.
#[inline]
fn fixed_width(line: &str) -> Option<Header<'_>> {
    if line.as_bytes().first() == Some(&b'[') {
        return fixed_width_bracketed(line);
    }
    let b = line.as_bytes();
    let (fields, separator, last_digits, at) = fixed_date(b, 0)?;
    // `, HH:MM - ` and then the text.
    let tail = b.get(at..at + 10)?;
    if tail[0] != b',' || tail[1] != b' ' || tail[4] != b':' || &tail[7..10] != b" - " {
        return None;
    }
    let (hour, minute) = (two_digits(b, at + 2)?, two_digits(b, at + 5)?);
    if hour > 23 || minute > 59 {
        return None;
    }
    Some(Header {
        fields,
        shape: Shape { separator, year_first: false, last_digits, bracketed: false },
        hour,
        minute,
        second: None,
        pm: None,
        bracketed: false,
        rest: &line[at + 10..],
    })
}

/// Two ASCII digits at `at`, as a number.
#[inline]
fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    let (x, y) = (*b.get(at)?, *b.get(at + 1)?);
    (x.is_ascii_digit() && y.is_ascii_digit()).then(|| u32::from(x - b'0') * 10 + u32::from(y - b'0'))
}

/// `30/06/2023` or `30/06/23` (`/`, `.` or `-` between) at `start`: its
/// fields, separator and last field's digits, and where it ends.
#[inline]
fn fixed_date(b: &[u8], start: usize) -> Option<([u32; 3], char, u8, usize)> {
    let separator = *b.get(start + 2)?;
    if !matches!(separator, b'/' | b'.' | b'-') || b.get(start + 5) != Some(&separator) {
        return None;
    }
    let (a, month, c) = (two_digits(b, start)?, two_digits(b, start + 3)?, two_digits(b, start + 6)?);
    Some(match two_digits(b, start + 8) {
        Some(low) => ([a, month, c * 100 + low], separator as char, 4, start + 10),
        None => ([a, month, c], separator as char, 2, start + 8),
    })
}

/// `[30/06/2023, 16:14:05] ` and what follows it, as `parse_any` reads
/// it (spaces and marks after the bracket skipped, and a `- ` after them).
fn fixed_width_bracketed(line: &str) -> Option<Header<'_>> {
    let b = line.as_bytes();
    let (fields, separator, last_digits, at) = fixed_date(b, 1)?;
    // `, HH:MM:SS]` and then spaces.
    let tail = b.get(at..at + 11)?;
    if tail[0] != b',' || tail[1] != b' ' || tail[4] != b':' || tail[7] != b':' || tail[10] != b']' {
        return None;
    }
    let (hour, minute, second) = (two_digits(b, at + 2)?, two_digits(b, at + 5)?, two_digits(b, at + 8)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut p = Scan { s: line, i: at + 11 };
    p.spaces();
    // Some iPhone exports still write ` - ` after the bracket.
    if p.s[p.i..].starts_with("- ") {
        p.i += 2;
    }
    Some(Header {
        fields,
        shape: Shape { separator, year_first: false, last_digits, bracketed: true },
        hour,
        minute,
        second: Some(second),
        pm: None,
        bracketed: true,
        rest: &line[p.i..],
    })
}

/// The header of `line` in any shape (see the module's notes).
fn parse_any(line: &str) -> Option<Header<'_>> {
    let mut p = Scan { s: line, i: 0 };
    while p.peek().is_some_and(is_mark) {
        p.i += p.peek()?.len_utf8();
    }
    let bracketed = p.eat('[');
    let (a, a_digits) = p.number(4)?;
    let separator = p.peek().filter(|c| matches!(c, '/' | '.' | '-'))?;
    p.i += 1;
    p.spaces();
    let (b, _) = p.number(4)?;
    if !p.eat(separator) {
        return None;
    }
    p.spaces();
    let (c, last_digits) = p.number(4)?;
    let dotted = p.eat('.');
    p.eat(',');
    if p.spaces() == 0 {
        return None;
    }
    // A word between date and time (`klo`, `um`, `à`): letters only, short.
    let word: usize = p.s[p.i..].chars().take_while(|c| c.is_alphabetic()).take(6).map(char::len_utf8).sum();
    if word > 0 {
        p.i += word;
        if p.spaces() == 0 {
            return None;
        }
    }
    let (hour, _) = p.number(2)?;
    let time_sep = p.peek().filter(|c| matches!(c, ':' | '.'))?;
    p.i += 1;
    let (minute, md) = p.number(2)?;
    if md != 2 {
        return None;
    }
    let mut second = None;
    let save = p.i;
    if p.eat(time_sep) {
        match p.number(2) {
            Some((s, 2)) => second = Some(s),
            _ => p.i = save,
        }
    }
    // `AM`, `pm`, `a.m.`, `p. m.` (with U+00A0 inside), after any space.
    let save = p.i;
    p.spaces();
    let pm = match p.peek().map(|c| c.to_ascii_lowercase()) {
        Some(x @ ('a' | 'p')) => {
            p.i += 1;
            p.eat('.');
            p.spaces();
            if matches!(p.peek(), Some('m' | 'M')) {
                p.i += 1;
                p.eat('.');
                Some(x == 'p')
            } else {
                p.i = save;
                None
            }
        }
        _ => {
            p.i = save;
            None
        }
    };
    if bracketed {
        if !p.eat(']') {
            return None;
        }
        p.spaces();
        // Some iPhone exports still write ` - ` or `:` after the bracket.
        if p.s[p.i..].starts_with("- ") {
            p.i += 2;
        }
    } else if p.s[p.i..].starts_with(" - ") || p.s[p.i..].starts_with(" – ") {
        p.i += p.s[p.i..].chars().take(3).map(char::len_utf8).sum::<usize>();
    } else if p.s[p.i..].starts_with(": ") {
        p.i += 2;
    } else if dotted && p.s[p.i..].starts_with(' ') && p.s[p.i + 1..].starts_with(|c: char| !c.is_ascii_digit()) {
        // `13. 6. 2018. 21:25:15 a: m`: a space alone, after a date ending
        // in a dot (Finnish iPhone); a body's `2016-04-29 10:30 was…` is not this.
        p.i += 1;
    } else {
        return None;
    }
    if hour > 23 || minute > 59 || second.is_some_and(|s| s > 59) || (pm.is_some() && hour > 12) {
        return None;
    }
    let year_first = a_digits == 4;
    Some(Header {
        fields: [a, b, c],
        shape: Shape { separator, year_first, last_digits, bracketed },
        hour,
        minute,
        second,
        pm,
        bracketed,
        rest: &line[p.i..],
    })
}

/// Which field is the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Dmy,
    Mdy,
    Ymd,
    /// Year, day, month (`%y-%d-%m`, in whatstk's list).
    Ydm,
}

impl Order {
    pub fn parse(s: &str) -> Option<Order> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dmy" => Some(Order::Dmy),
            "mdy" => Some(Order::Mdy),
            "ymd" => Some(Order::Ymd),
            "ydm" => Some(Order::Ydm),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Dmy => "day/month/year",
            Order::Mdy => "month/day/year",
            Order::Ymd => "year/month/day",
            Order::Ydm => "year/day/month",
        }
    }
}

/// What one pass over a file's headers says about each shape's order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Tally {
    first_over_12: bool,
    second_over_12: bool,
    first_changes: u64,
    second_changes: u64,
    /// The first and last date's fields: where a later piece of the file
    /// joins on, a change is counted as if read in one go.
    first: Option<(u32, u32)>,
    last: Option<(u32, u32)>,
}

/// The date order of each shape of one file, learnt from all its dates. The
/// tallies are a list: a file has one or two shapes (48 at most), and one is
/// looked up on every line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Orders {
    tallies: Vec<(Shape, Tally)>,
    forced: Option<Order>,
}

/// How one shape's order was decided, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A day above 12 settled it.
    Certain(Order),
    /// Both fields exceed 12 somewhere: decided line by line.
    PerLine,
    /// No day above 12: the field that changes more often was taken as the day.
    Guessed(Order),
}

impl Orders {
    pub fn forced(order: Option<Order>) -> Orders {
        Orders { forced: order, ..Default::default() }
    }

    fn tally(&self, shape: &Shape) -> Option<&Tally> {
        self.tallies.iter().find(|(s, _)| s == shape).map(|(_, t)| t)
    }

    pub fn learn(&mut self, h: &Header) {
        let i = match self.tallies.iter().position(|(s, _)| *s == h.shape) {
            Some(i) => i,
            None => {
                self.tallies.push((h.shape, Tally::default()));
                self.tallies.len() - 1
            }
        };
        let t = &mut self.tallies[i].1;
        let [a, b, _] = h.fields;
        t.first_over_12 |= a > 12;
        t.second_over_12 |= b > 12;
        if let Some((pa, pb)) = t.last {
            t.first_changes += u64::from(pa != a);
            t.second_changes += u64::from(pb != b);
        }
        t.first.get_or_insert((a, b));
        t.last = Some((a, b));
    }

    /// Adds what the next piece of the same file taught: the same tallies
    /// as one pass over both (shapes in the order first seen).
    pub fn append(&mut self, later: &Orders) {
        for (shape, t) in &later.tallies {
            let Some((_, mine)) = self.tallies.iter_mut().find(|(s, _)| s == shape) else {
                self.tallies.push((*shape, t.clone()));
                continue;
            };
            mine.first_over_12 |= t.first_over_12;
            mine.second_over_12 |= t.second_over_12;
            mine.first_changes += t.first_changes;
            mine.second_changes += t.second_changes;
            if let (Some((pa, pb)), Some((a, b))) = (mine.last, t.first) {
                mine.first_changes += u64::from(pa != a);
                mine.second_changes += u64::from(pb != b);
            }
            mine.last = t.last.or(mine.last);
        }
    }

    /// How each shape's order is decided (year-first shapes need none).
    pub fn decisions(&self) -> Vec<Decision> {
        if self.forced.is_some() {
            return vec![];
        }
        let mut out: Vec<Decision> =
            self.tallies.iter().filter(|(s, _)| !s.year_first).map(|(_, t)| decide(t)).collect();
        out.dedup();
        out
    }

    /// The date of `h` as (year, month, day), or `None` if it is no date.
    pub fn date(&self, h: &Header) -> Option<(i32, u32, u32)> {
        let [a, b, c] = h.fields;
        let order = match self.forced {
            Some(o) => o,
            None if h.shape.year_first => Order::Ymd,
            None => match self.tally(&h.shape).map(decide) {
                Some(Decision::Certain(o) | Decision::Guessed(o)) => o,
                Some(Decision::PerLine) | None => {
                    if a > 12 {
                        Order::Dmy
                    } else if b > 12 {
                        Order::Mdy
                    } else {
                        Order::Dmy
                    }
                }
            },
        };
        let year = |y: u32, digits_of_last: bool| -> i32 {
            if y < 100 && digits_of_last {
                2000 + y as i32
            } else {
                y as i32
            }
        };
        let (y, m, d) = match order {
            Order::Ymd if h.shape.year_first => (a as i32, b, c),
            Order::Ymd => (year(a, true), b, c),
            Order::Dmy => (year(c, true), b, a),
            Order::Mdy => (year(c, true), a, b),
            Order::Ydm => (year(a, true), c, b),
        };
        ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
    }
}

fn decide(t: &Tally) -> Decision {
    match (t.first_over_12, t.second_over_12) {
        (true, false) => Decision::Certain(Order::Dmy),
        (false, true) => Decision::Certain(Order::Mdy),
        (true, true) => Decision::PerLine,
        (false, false) if t.second_changes > t.first_changes => Decision::Guessed(Order::Mdy),
        (false, false) => Decision::Guessed(Order::Dmy),
    }
}

/// The 24-hour hour of a header.
pub fn hour24(h: &Header) -> u32 {
    match h.pm {
        None => h.hour,
        Some(false) => h.hour % 12,
        Some(true) => h.hour % 12 + 12,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: &str) -> (Header<'_>, String) {
        let h = parse(line).unwrap_or_else(|| panic!("no header in {line:?}"));
        let t = format!(
            "{:?} {:02}:{:02}:{:02} {}",
            h.fields,
            hour24(&h),
            h.minute,
            h.second.unwrap_or(0),
            if h.bracketed { "ios" } else { "android" }
        );
        (h, t)
    }

    /// The fixed-width reading gives what the general one gives, on the
    /// shapes it takes and on every line one or two characters away from
    /// them (and it does take the common shapes).
    #[test]
    fn the_fixed_width_shape_reads_as_any_shape_does() {
        let base = [
            "30/06/2023, 16:14 - Anna: hi",
            "01.12.23, 00:00 - Ben: x",
            "12-31-2024, 23:59 - Ann: — 你好",
            "30/06/2023, 16:14 - system line",
            "07/08/1999, 09:05 - ",
            "[30/06/2023, 16:14:05] Anna: hi",
            "[01.12.23, 00:00:59]  \u{200e}- Ben: x",
            "[12-31-2024, 23:59:00] \u{200e}Ann: <attached: 0001-PHOTO.jpg>",
        ];
        for line in base {
            assert!(fixed_width(line).is_some(), "{line}");
            assert_eq!(fixed_width(line), parse_any(line), "{line}");
        }
        let swaps = ['0', '1', '2', '3', '9', '/', '.', '-', ',', ' ', ':', 'a', 'P', '[', ']', '\u{202f}', '–'];
        let mut taken = 0;
        let mut tried = 0;
        for line in base {
            let chars: Vec<char> = line.chars().collect();
            let variants = (0..=chars.len()).flat_map(|i| {
                let chars = &chars;
                swaps.iter().flat_map(move |&c| {
                    // Replaced, put in before, and taken out at i.
                    let replaced = (i < chars.len()).then(|| [&chars[..i], &[c], &chars[i + 1..]].concat());
                    let inserted = Some([&chars[..i], &[c], &chars[i..]].concat());
                    let removed = (i < chars.len()).then(|| [&chars[..i], &chars[i + 1..]].concat());
                    [replaced, inserted, removed].into_iter().flatten()
                })
            });
            for variant in variants {
                let v: String = variant.into_iter().collect();
                // And a second change: the time's digits, the year's length.
                for v in [v.clone(), v.replacen("16", "7", 1), v.replacen("2023", "23", 1), v.replacen(" - ", " – ", 1)]
                {
                    tried += 1;
                    if let Some(h) = fixed_width(&v) {
                        taken += 1;
                        assert_eq!(Some(h), parse_any(&v), "{v:?}");
                    }
                }
            }
        }
        assert!(taken > 500 && tried > taken * 3, "{taken} of {tried}");
    }

    #[test]
    fn every_shape_of_the_format_doc_is_a_header() {
        for (line, want, rest) in [
            (
                "6/30/23, 16:14 - Aaaaa Aaaaaaaaaaa: hello there!",
                "[6, 30, 23] 16:14:00 android",
                "Aaaaa Aaaaaaaaaaa: hello there!",
            ),
            ("1/4/23, 7:02\u{202f}PM - Bob: hi", "[1, 4, 23] 19:02:00 android", "Bob: hi"),
            ("12/1/23, 12:14\u{202f}pm - Bob: hi", "[12, 1, 23] 12:14:00 android", "Bob: hi"),
            ("3/6/2018 1:55 p.\u{a0}m. - a: m", "[3, 6, 2018] 13:55:00 android", "a: m"),
            ("20/6/2017 8:28 p. m. - Michelle: test", "[20, 6, 2017] 20:28:00 android", "Michelle: test"),
            (
                "[31/12/2022 11:40:26] John Doe: <attached: x.opus>",
                "[31, 12, 2022] 11:40:26 ios",
                "John Doe: <attached: x.opus>",
            ),
            ("[30/04/23, 5:33:19 PM] Sam: Hi Sameer", "[30, 4, 23] 17:33:19 ios", "Sam: Hi Sameer"),
            ("\u{200e}[3/6/18 1:55:00 p. m.] a: m", "[3, 6, 18] 13:55:00 ios", "a: m"),
            ("[14/10/2021, 3:34:09\u{202f}PM] X: y", "[14, 10, 2021] 15:34:09 ios", "X: y"),
            ("09/12/2012 17:03:48: Sender Name: Message", "[9, 12, 2012] 17:03:48 android", "Sender Name: Message"),
            ("3/24/14, 1:59:59 PM: Sender Name: Message", "[3, 24, 14] 13:59:59 android", "Sender Name: Message"),
            ("13.06.18 21.25.15: a: m", "[13, 6, 18] 21:25:15 android", "a: m"),
            ("18/12/19 15:57 - MARCELO gomez: hola", "[18, 12, 19] 15:57:00 android", "MARCELO gomez: hola"),
            ("26-04-2022 12:11 - [name]: x", "[26, 4, 2022] 12:11:00 android", "[name]: x"),
            ("30/08/25 18.00 - Budi: x", "[30, 8, 25] 18:00:00 android", "Budi: x"),
            ("13.6.2018 klo 21.25.15 - a: m", "[13, 6, 2018] 21:25:15 android", "a: m"),
            ("13. 6. 2018. 21:25:15 a: m", "[13, 6, 2018] 21:25:15 android", "a: m"),
            ("[2018/06/13, 21:25:15] a: m", "[2018, 6, 13] 21:25:15 ios", "a: m"),
            ("[2024/10/31 15:50:46] 张三: 你好", "[2024, 10, 31] 15:50:46 ios", "张三: 你好"),
            ("[01/01/19 11:25] John Doe: Lorem", "[1, 1, 19] 11:25:00 ios", "John Doe: Lorem"),
            ("01/01/2019, 11:25 a. m. - John Doe: Lorem", "[1, 1, 2019] 11:25:00 android", "John Doe: Lorem"),
        ] {
            let (h, got) = at(line);
            assert_eq!(got, want, "{line:?}");
            assert_eq!(h.rest, rest, "{line:?}");
        }
    }

    #[test]
    fn continuation_lines_are_not_headers() {
        for line in [
            "",
            "this is a",
            "2016-04-29 10:30:00",
            "12:30 - meet me",
            "1/2/3",
            "31/12/2022 11:40:26x",
            "[31/12/2022 11:40:26 John",
            "99/99/99, 99:99 - x: y",
            "6/30/23, 16:14 -nope",
            "६/३०/२३, 16:14 - x: y",
            "2016-04-29 10:30:00 was the day",
        ] {
            assert!(parse(line).is_none(), "{line:?} is not a header");
        }
    }

    #[test]
    fn the_date_order_is_learnt_from_the_whole_file() {
        let lines =
            ["6/30/23, 16:14 - a: x", "7/1/23, 16:14 - a: x", "30/6/2023, 16:15 - a: x", "1/7/2023, 16:15 - a: x"];
        let mut o = Orders::default();
        for l in lines {
            o.learn(&parse(l).unwrap());
        }
        let dates: Vec<_> = lines.iter().map(|l| o.date(&parse(l).unwrap()).unwrap()).collect();
        assert_eq!(dates, [(2023, 6, 30), (2023, 7, 1), (2023, 6, 30), (2023, 7, 1)], "two shapes, each its own order");

        // No day above 12: the field that changes more often is the day.
        let mut o = Orders::default();
        for l in
            ["01/02/24, 10:00 - a: x", "01/03/24, 10:00 - a: x", "01/04/24, 10:00 - a: x", "02/04/24, 10:00 - a: x"]
        {
            o.learn(&parse(l).unwrap());
        }
        assert_eq!(o.decisions(), [Decision::Guessed(Order::Mdy)]);
        let forced = Orders::forced(Some(Order::Dmy));
        assert_eq!(forced.date(&parse("01/02/24, 10:00 - a: x").unwrap()), Some((2024, 2, 1)));
    }
}
