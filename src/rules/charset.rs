//! Charset decoding as SpamAssassin 4.0.1 does it (`Message::Node::_normalize`), with the
//! quirks of Perl's Encode that decide what rules see:
//!
//! - a strict decode of the declared charset that fails falls back to Windows-1252, never to
//!   a lossy decode of the declared charset (there is no Encode::Detect on Debian's install);
//! - `gb2312` is Encode's `euc-cn`: GB2312 proper, none of the GBK extensions;
//! - the ISO-2022-JP family decodes only the text before the first 8-bit byte (Encode::JP::JIS7
//!   drops the rest as "residue" whenever a check flag is given, and SpamAssassin always gives one);
//! - a UTF-16 text that starts with a byte order mark is not decoded as UTF-16 at all
//!   (`detect_utf16` returns nothing for it, so the last-resort Windows-1252 decode applies).
//!
//! Multi-byte charsets other than GB2312 and EUC-JP use encoding_rs's tables, which accept a
//! superset of Encode's (Big5-HKSCS for `big5`, CP932 for `shift_jis`, UHC for `euc-kr`).

use encoding_rs::{DecoderResult, Encoding};

/// Text in `declared` charset as UTF-8 octets, as `_normalize($text, $declared, 0, $insist)`
/// returns it. `insist` is SpamAssassin's `insist_on_declared_charset`, set for MIME encoded
/// words in headers: no UTF-8 guess first, and a declared charset that fails to decode
/// gives substitution characters instead of a fallback.
pub fn normalize(bytes: &[u8], declared: &str, insist: bool) -> Vec<u8> {
    let eight_bit = !bytes.is_ascii();
    let lower = declared.to_ascii_lowercase();
    if !eight_bit && (is_ascii_label(&lower) || is_extended_ascii_label(&lower)) {
        return bytes.to_vec();
    }
    let mut tried_utf8 = false;
    if eight_bit && !insist {
        if std::str::from_utf8(bytes).is_ok() {
            return bytes.to_vec();
        }
        tried_utf8 = true;
    }
    let mut decoded: Option<String> = None;
    if matches!(lower.as_str(), "ascii" | "us-ascii") && !insist {
        // 8-bit text declared as ASCII: a strict ASCII decode would only fail
    } else if lower.strip_prefix("utf").map(|r| r.strip_prefix([' ', '-']).unwrap_or(r)).is_some_and(|r| r.starts_with("16")) {
        decoded = detect_utf16(bytes).and_then(|le| decode_utf16(bytes, le));
    } else {
        let decoder = if matches!(lower.as_str(), "iso-8859-1" | "iso8859-1" | "windows-1252" | "cp1252") {
            Some(PerlEncoding::Windows1252)
        } else if matches!(lower.as_str(), "utf-8" | "utf8") {
            Some(PerlEncoding::Utf8)
        } else {
            find_encoding(&lower).or_else(|| is_gb18030_label(&lower).then_some(PerlEncoding::Other(encoding_rs::GBK)))
        };
        match decoder {
            Some(PerlEncoding::Utf8) if tried_utf8 => {}
            Some(d) => decoded = d.decode(bytes, !insist),
            None => {}
        }
    }
    if decoded.is_none() && !eight_bit {
        return bytes.to_vec();
    }
    if decoded.is_none() && bytes.iter().all(|&b| b < 0x80 || is_windows_1252_guess_byte(b)) {
        decoded = PerlEncoding::Windows1252.decode(bytes, true);
    }
    decoded.unwrap_or_else(|| PerlEncoding::Windows1252.decode(bytes, false).unwrap_or_default()).into_bytes()
}

/// `(?:US-)?ASCII | ANSI[_ ]?X3.4-(1986|1968) | ISO646-US`, lowercase.
fn is_ascii_label(l: &str) -> bool {
    let ansi = l.strip_prefix("ansi").map(|r| r.strip_prefix(['_', ' ']).unwrap_or(r));
    matches!(l, "ascii" | "us-ascii" | "iso646-us") || ansi.is_some_and(|r| r == "x3.4-1986" || r == "x3.4-1968")
}

/// Labels (lowercase) SpamAssassin leaves undecoded when the text is 7-bit: ISO-8859-*, Windows-NNNN,
/// UTF-8, KOI8-*, EUC-*, Big5, GBK, GB18030.
fn is_extended_ascii_label(l: &str) -> bool {
    let digits = |s: &str, min: usize, max: usize| (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let letters = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic());
    if let Some(r) = l.strip_prefix("iso") {
        let r = r.strip_prefix(['-', ' ']).unwrap_or(r);
        if let Some(r) = r.strip_prefix("8859") {
            return r.is_empty() || r.strip_prefix('-').is_some_and(|d| digits(d, 1, 2));
        }
    }
    l.strip_prefix("windows-").is_some_and(|d| digits(d, 4, 4))
        || matches!(l, "utf8" | "utf-8" | "big5" | "gbk")
        || l.strip_prefix("koi8-").or_else(|| l.strip_prefix("euc-")).is_some_and(letters)
        || is_gb18030_label(l)
}

/// `GB[ -]?18030(?:-20\d\d)?`
fn is_gb18030_label(l: &str) -> bool {
    let Some(r) = l.strip_prefix("gb") else { return false };
    let r = r.strip_prefix(['-', ' ']).unwrap_or(r);
    let Some(r) = r.strip_prefix("18030") else { return false };
    r.is_empty() || r.strip_prefix("-20").is_some_and(|y| y.len() == 2 && y.bytes().all(|b| b.is_ascii_digit()))
}

/// The bytes SpamAssassin takes as a sign of Windows-1252 text after a failed decode:
/// NBSP, (c), SHY, some punctuation, TM and the Latin-1 letters.
fn is_windows_1252_guess_byte(b: u8) -> bool {
    matches!(b, 0xa0 | 0xa9 | 0xad | 0x82 | 0x84 | 0x85 | 0x91..=0x97 | 0x99 | 0xc0..=0xd6 | 0xd8..=0xde | 0xe0..=0xf6 | 0xf8..=0xfe)
}

/// `detect_utf16`: byte order from where the spaces and the zero bytes are; None with a byte
/// order mark ("let perl figure it out", which SpamAssassin then never does) or when undecided.
/// Returns true for little endian.
fn detect_utf16(data: &[u8]) -> Option<bool> {
    if data.starts_with(&[0xff, 0xfe]) || data.starts_with(&[0xfe, 0xff]) {
        return None;
    }
    let nibbles = |b: u8| u32::from(b >> 4) + u32::from(b & 0x0f);
    let (mut le, mut be) = (0, 0);
    let (mut even, mut odd) = (0, 0);
    for pair in data.chunks(2) {
        let (a, b) = (pair[0], pair.get(1).copied().unwrap_or(0));
        even += nibbles(a);
        odd += nibbles(b);
        if (a, b) == (0x20, 0) {
            le += 1;
        }
        if (a, b) == (0, 0x20) {
            be += 1;
        }
    }
    if even > odd * 4 {
        le += 1;
    }
    // as written in SpamAssassin (the comment there says the opposite)
    if odd * 4 > even {
        be += 1;
    }
    match le.cmp(&be) {
        std::cmp::Ordering::Greater => Some(true),
        std::cmp::Ordering::Less => Some(false),
        std::cmp::Ordering::Equal => None,
    }
}

/// Strict UTF-16: an odd length or an unpaired surrogate fails.
fn decode_utf16(bytes: &[u8], le: bool) -> Option<String> {
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units = bytes.chunks_exact(2).map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) });
    char::decode_utf16(units).collect::<Result<String, _>>().ok()
}

/// An Encode decoder SpamAssassin can be given.
#[derive(Debug, Clone, Copy)]
enum PerlEncoding {
    Utf8,
    Ascii,
    Latin1,
    Windows1252,
    /// `euc-cn`, what Encode calls `gb2312`.
    EucCn,
    /// `iso-2022-jp`, `iso-2022-jp-1`, `7bit-jis`.
    Jis7,
    EucJp,
    Other(&'static Encoding),
}

/// `Encode::find_encoding`, for the labels mail uses.
fn find_encoding(label: &str) -> Option<PerlEncoding> {
    Some(match label {
        "utf-8" | "utf8" | "utf-8-strict" => PerlEncoding::Utf8,
        "ascii" | "us-ascii" | "ansi_x3.4-1968" | "iso-646-us" => PerlEncoding::Ascii,
        "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" => PerlEncoding::Latin1,
        "cp1252" | "windows-1252" => PerlEncoding::Windows1252,
        "gb2312" | "gb-2312" | "gb_2312-80" | "euc-cn" | "euc_cn" | "x-euc-cn" => PerlEncoding::EucCn,
        "iso-2022-jp" | "iso-2022-jp-1" | "7bit-jis" | "jis" => PerlEncoding::Jis7,
        "euc-jp" | "euc_jp" | "x-euc-jp" | "ujis" => PerlEncoding::EucJp,
        // labels the web knows and Encode does not
        "gb18030" | "csgb2312" | "chinese" | "iso-2022-jp-2" | "csiso2022jp" | "iso-8859-8-i" | "l1" | "cp819" | "ks_c_5601" | "x-unknown" => return None,
        _ => {
            let e = Encoding::for_label(label.as_bytes())?;
            if e == encoding_rs::REPLACEMENT || e == encoding_rs::X_USER_DEFINED || e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE {
                return None;
            }
            PerlEncoding::Other(e)
        }
    })
}

impl PerlEncoding {
    /// `$decoder->decode($bytes, $check)`: with `croak` (FB_CROAK) None on the first invalid
    /// byte; without, each invalid byte becomes U+FFFD. A multi-byte character cut off at
    /// the end is dropped in both cases, as Encode's table decoders do.
    fn decode(self, bytes: &[u8], croak: bool) -> Option<String> {
        match self {
            PerlEncoding::Utf8 => match std::str::from_utf8(bytes) {
                Ok(s) => Some(s.to_string()),
                Err(_) if croak => None,
                Err(_) => Some(String::from_utf8_lossy(bytes).into_owned()),
            },
            PerlEncoding::Ascii => by_unit(bytes, croak, |b| if b[0] < 0x80 { Unit::Char(char::from(b[0]), 1) } else { Unit::Invalid }),
            PerlEncoding::Latin1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            // encoding_rs maps the five unassigned bytes to C1 controls; Encode has no mapping
            PerlEncoding::Windows1252 => by_unit(bytes, croak, |b| match single_char(encoding_rs::WINDOWS_1252, &b[..1]) {
                Some(c) if !('\u{80}'..='\u{9f}').contains(&c) => Unit::Char(c, 1),
                _ => Unit::Invalid,
            }),
            PerlEncoding::EucCn => by_unit(bytes, croak, euc_cn_char),
            PerlEncoding::EucJp => by_unit(bytes, croak, euc_jp_char),
            PerlEncoding::Jis7 => Some(decode_jis7(bytes)),
            PerlEncoding::Other(e) => {
                let (text, malformed) = e.decode_without_bom_handling(bytes);
                (!(malformed && croak)).then(|| text.into_owned())
            }
        }
    }
}

/// What starts a byte sequence: a character and its length, an invalid byte, or the start
/// of a character the input ends before (Encode's table decoders stop there without complaint).
enum Unit {
    Char(char, usize),
    Invalid,
    CutShort,
}

/// Decodes with `unit`, which reads one character from the start of its input.
fn by_unit(bytes: &[u8], croak: bool, unit: impl Fn(&[u8]) -> Unit) -> Option<String> {
    by_unit_with(bytes, unit, |_, out| {
        if croak {
            return false;
        }
        out.push('\u{fffd}');
        true
    })
}

/// `by_unit` with `invalid` deciding what an invalid byte gives (false: the decode fails).
fn by_unit_with(bytes: &[u8], unit: impl Fn(&[u8]) -> Unit, mut invalid: impl FnMut(u8, &mut String) -> bool) -> Option<String> {
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut i = 0;
    while i < bytes.len() {
        match unit(&bytes[i..]) {
            Unit::Char(c, len) => {
                out.push(c);
                i += len;
            }
            Unit::CutShort => break,
            Unit::Invalid => {
                if !invalid(bytes[i], &mut out) {
                    return None;
                }
                i += 1;
            }
        }
    }
    Some(out)
}

fn single_char(e: &'static Encoding, bytes: &[u8]) -> Option<char> {
    let mut decoder = e.new_decoder_without_bom_handling();
    let mut s = String::with_capacity(8);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut s, true);
    let mut chars = s.chars();
    match (result, read == bytes.len(), chars.next(), chars.next()) {
        (DecoderResult::InputEmpty, true, Some(c), None) => Some(c),
        _ => None,
    }
}

/// Cells inside GB2312's 0xA1-0xF7 x 0xA1-0xFE grid that GB2312 leaves empty (GBK fills some
/// of them; Encode's `euc-cn` rejects them): (lead, first trail, last trail).
const GB2312_EMPTY: &[(u8, u8, u8)] = &[
    (0xa2, 0xa1, 0xb0), (0xa2, 0xe3, 0xe4), (0xa2, 0xef, 0xf0), (0xa2, 0xfd, 0xfe), (0xa4, 0xf4, 0xfe),
    (0xa5, 0xf7, 0xfe), (0xa6, 0xb9, 0xc0), (0xa6, 0xd9, 0xfe), (0xa7, 0xc2, 0xd0), (0xa7, 0xf2, 0xfe),
    (0xa8, 0xbb, 0xc4), (0xa8, 0xea, 0xfe), (0xa9, 0xa1, 0xa3), (0xa9, 0xf0, 0xfe), (0xaa, 0xa1, 0xfe),
    (0xab, 0xa1, 0xfe), (0xac, 0xa1, 0xfe), (0xad, 0xa1, 0xfe), (0xae, 0xa1, 0xfe), (0xaf, 0xa1, 0xfe),
    (0xd7, 0xfa, 0xfe),
];

fn euc_cn_char(b: &[u8]) -> Unit {
    let lead = b[0];
    if lead < 0x80 {
        return Unit::Char(char::from(lead), 1);
    }
    if !(0xa1..=0xf7).contains(&lead) {
        return Unit::Invalid;
    }
    let Some(&trail) = b.get(1) else { return Unit::CutShort };
    if !(0xa1..=0xfe).contains(&trail) || GB2312_EMPTY.iter().any(|&(l, a, z)| l == lead && (a..=z).contains(&trail)) {
        return Unit::Invalid;
    }
    // the two cells where Encode's table and GBK's disagree
    let c = match (lead, trail) {
        (0xa1, 0xa4) => Some('\u{30fb}'),
        (0xa1, 0xaa) => Some('\u{2015}'),
        _ => single_char(encoding_rs::GBK, &b[..2]),
    };
    c.map_or(Unit::Invalid, |c| Unit::Char(c, 2))
}

fn euc_jp_char(b: &[u8]) -> Unit {
    if b[0] < 0x80 {
        return Unit::Char(char::from(b[0]), 1);
    }
    let len = if b[0] == 0x8f { 3 } else { 2 };
    let Some(seq) = b.get(..len) else { return Unit::CutShort };
    // the cells where Encode's JIS X 0208 table and the web's (CP932 flavoured) one disagree
    let c = match seq {
        [0xa1, 0xc1] => '\u{301c}',
        [0xa1, 0xc2] => '\u{2016}',
        [0xa1, 0xdd] => '\u{2212}',
        [0xa1, 0xf1] => '\u{a2}',
        [0xa1, 0xf2] => '\u{a3}',
        [0xa2, 0xcc] => '\u{ac}',
        _ => match single_char(encoding_rs::EUC_JP, seq) {
            Some(c) => c,
            None => return Unit::Invalid,
        },
    };
    Unit::Char(c, len)
}

/// Encode::JP::JIS7's decode with a check flag: the input is cut at its first 8-bit byte,
/// the escape-delimited runs are turned into EUC-JP, anything from an unknown escape on is
/// dropped, and the EUC-JP is decoded with invalid bytes written as `\xHH` (FB_PERLQQ).
fn decode_jis7(bytes: &[u8]) -> String {
    let seven_bit = &bytes[..bytes.iter().position(|&b| b >= 0x80).unwrap_or(bytes.len())];
    let euc = jis_to_euc(seven_bit);
    by_unit_with(&euc, euc_jp_char, |b, out| {
        out.push_str(&format!("\\x{b:02X}"));
        true
    })
    .unwrap_or_default()
}

/// `jis_euc`: each run after a known escape sequence (up to the next ESC) is shifted into
/// EUC-JP's range; the escape itself goes. Text before the first escape stays as it is.
fn jis_to_euc(s: &[u8]) -> Vec<u8> {
    #[derive(Clone, Copy, PartialEq)]
    enum Set {
        Ascii,
        Jis0208,
        Jis0212,
        Kana,
    }
    let escape = |r: &[u8]| -> Option<(Set, usize)> {
        for (seq, set) in [(&b"\x1b$(D"[..], Set::Jis0212), (b"\x1b&@\x1b$B", Set::Jis0208), (b"\x1b$@", Set::Jis0208), (b"\x1b$B", Set::Jis0208), (b"\x1b(B", Set::Ascii), (b"\x1b(J", Set::Ascii), (b"\x1b(I", Set::Kana)] {
            if r.starts_with(seq) {
                return Some((set, seq.len()));
            }
        }
        None
    };
    let mut out = Vec::with_capacity(s.len() * 2);
    let mut i = 0;
    while i < s.len() {
        if s[i] != 0x1b {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let Some((set, len)) = escape(&s[i..]) else {
            // the residue: an unknown escape and everything after it
            break;
        };
        i += len;
        let end = s[i..].iter().position(|&b| b == 0x1b).map_or(s.len(), |p| i + p);
        let mut chunk: Vec<u8> = s[i..end].iter().map(|&b| if set != Set::Ascii && (0x21..=0x7e).contains(&b) { b + 0x80 } else { b }).collect();
        match set {
            Set::Kana => chunk = chunk.into_iter().flat_map(|b| if (0xa1..=0xdf).contains(&b) { vec![0x8e, b] } else { vec![b] }).collect(),
            Set::Jis0212 => {
                let mut with_prefix = Vec::with_capacity(chunk.len() * 2);
                let mut j = 0;
                while j < chunk.len() {
                    if j + 1 < chunk.len() && (0xa1..=0xfe).contains(&chunk[j]) && (0xa1..=0xfe).contains(&chunk[j + 1]) {
                        with_prefix.extend_from_slice(&[0x8f, chunk[j], chunk[j + 1]]);
                        j += 2;
                    } else {
                        with_prefix.push(chunk[j]);
                        j += 1;
                    }
                }
                chunk = with_prefix;
            }
            Set::Ascii | Set::Jis0208 => {}
        }
        out.extend_from_slice(&chunk);
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(bytes: &[u8], cs: &str) -> String {
        String::from_utf8(normalize(bytes, cs, false)).unwrap()
    }

    #[test]
    fn gb2312_is_decoded_by_encodes_euc_cn_table() {
        assert_eq!(norm(b"\xc4\xe3\xba\xc3 \xa1\xa4", "gb2312"), "\u{4f60}\u{597d} \u{30fb}");
        // a GBK-only character is not GB2312: the text falls back to Windows-1252
        assert_eq!(norm(b"\x81\x40\xc4\xe3", "gb2312"), "\u{fffd}@\u{c4}\u{e3}");
    }

    #[test]
    fn iso_2022_jp_keeps_only_what_precedes_the_first_8bit_byte() {
        assert_eq!(norm(b"abc \x1b$B$\"\x1b(B def", "iso-2022-jp"), "abc \u{3042} def");
        assert_eq!(norm(b"> \xa4\xa2 itojun http://example.com/\n", "ISO-2022-JP"), "> ");
        assert_eq!(norm(b"abc \x1b$B$\"\x1b(C def", "iso-2022-jp"), "abc \u{3042}");
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_read_as_windows_1252() {
        assert_eq!(String::from_utf8(normalize(b"\xff\xfe\x3d\xd8\x49\xdc", "UTF-16", true)).unwrap(), "\u{ff}\u{fe}=\u{d8}I\u{dc}");
        assert_eq!(String::from_utf8(normalize(b"h\0i\0 \0", "utf-16", true)).unwrap(), "hi ");
    }

    #[test]
    fn failed_decodes_fall_back_to_windows_1252() {
        assert_eq!(norm(b"caf\xe9", "us-ascii"), "caf\u{e9}");
        assert_eq!(norm(b"caf\xc3\xa9", "iso-8859-2"), "caf\u{e9}");
        assert_eq!(norm(b"\x81\x93x\x94", "x-unknown"), "\u{fffd}\u{201c}x\u{201d}");
        // in an encoded word the declared charset is insisted on
        assert_eq!(String::from_utf8(normalize(b"\xa1b", "gb2312", true)).unwrap(), "\u{fffd}b");
    }
}
