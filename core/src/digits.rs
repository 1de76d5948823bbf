//! Numbers written without `to_string`: importers and exporters write an id
//! or a position for every message, and an allocation each showed in the
//! profiles.

/// `n` in decimal, written into `buf`; the digits are the returned slice.
pub fn decimal(n: i64, buf: &mut [u8; 20]) -> &str {
    let mut digits = itoa::Buffer::new();
    let text = digits.format(n).as_bytes();
    let at = buf.len() - text.len(); // i64::MIN is 20 characters
    buf[at..].copy_from_slice(text);
    // SAFETY: itoa writes ASCII digits and a minus sign only.
    unsafe { std::str::from_utf8_unchecked(&buf[at..]) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimal_is_to_string() {
        let mut buf = [0u8; 20];
        for n in [0, 7, -1, 10, 1_700_000_000_123, -86_400_000, i64::MIN, i64::MAX] {
            assert_eq!(super::decimal(n, &mut buf), n.to_string());
        }
    }
}
