//! ImageInfo: how many GIF, PNG and JPEG images a message carries (base64 parts only, as the
//! plugin counts them) and how many pixels they cover, read from each format's header.

use crate::rules::engine::RuleSet;
use crate::rules::message::{MessageView, Part};

const TYPES: &[&str] = &["all", "gif", "png", "jpeg"];

pub(super) fn supports(function: &str, args: &[String]) -> Option<bool> {
    Some(match function {
        "image_count" | "pixel_coverage" => {
            (args.len() == 2 || args.len() == 3) && TYPES.contains(&args[0].as_str()) && args[1..].iter().all(|a| a.parse::<f64>().is_ok())
        }
        "image_to_text_ratio" => args.len() == 3 && TYPES.contains(&args[0].as_str()) && args[1..].iter().all(|a| a.parse::<f64>().is_ok()),
        _ => return None,
    })
}

pub(super) fn run(function: &str, args: &[String], text: &super::EvalText, view: &MessageView, _set: &RuleSet) -> Option<bool> {
    let images: Vec<(&str, u64)> = view.parts.iter().filter_map(image).collect();
    let of_type = images.iter().filter(|(t, _)| args[0] == "all" || *t == args[0]);
    let value = match function {
        "image_count" => of_type.count() as f64,
        "pixel_coverage" => of_type.map(|(_, area)| *area as f64).sum(),
        "image_to_text_ratio" => {
            // octets of the rule's text (rendered or decoded) per pixel of image
            let pixels: f64 = of_type.map(|(_, area)| *area as f64).sum();
            let text_len = text.lines(view).iter().map(Vec::len).sum::<usize>() as f64;
            if text_len == 0.0 || pixels <= 0.0 {
                return Some(false);
            }
            let ratio = text_len / pixels;
            let (min, max): (f64, f64) = (args[1].parse().unwrap_or(0.0), args[2].parse().unwrap_or(0.0));
            return Some(ratio >= min && ratio < max);
        }
        _ => return None,
    };
    let min: f64 = args[1].parse().unwrap_or(0.0);
    let max: Option<f64> = args.get(2).and_then(|m| m.parse().ok());
    Some(value >= min && max.is_none_or(|max| value <= max))
}

/// (type, pixel area) of a base64 image part ImageInfo counts; area 0 when the header does
/// not give a size.
fn image(p: &Part) -> Option<(&'static str, u64)> {
    let kind = match p.content_type.as_str() {
        "image/gif" => "gif",
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpeg",
        _ => return None,
    };
    if p.transfer_encoding != "base64" {
        return None;
    }
    let d = &p.decoded;
    let be16 = |i: usize| d.get(i..i + 2).map(|b| u64::from(u16::from_be_bytes([b[0], b[1]])));
    let be32 = |i: usize| d.get(i..i + 4).map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])));
    let (w, h) = match kind {
        "gif" if d.starts_with(b"GIF87a") || d.starts_with(b"GIF89a") => {
            let le16 = |i: usize| d.get(i..i + 2).map(|b| u64::from(u16::from_le_bytes([b[0], b[1]]))).unwrap_or(0);
            (le16(6), le16(8))
        }
        "png" if d.starts_with(b"\x89PNG\r\n\x1a\n") => {
            // the plugin steps 8 bytes at a time (chunk headers only) until IHDR or IEND
            let mut pos = 8;
            let mut size = (0, 0);
            while pos < d.len() {
                let (len, ty) = (be32(pos), d.get(pos + 4..pos + 8));
                pos += 8;
                if ty == Some(b"IEND") {
                    break;
                }
                if ty == Some(b"IHDR") && len == Some(13) {
                    size = (be32(pos).unwrap_or(0), be32(pos + 4).unwrap_or(0));
                    break;
                }
            }
            size
        }
        "jpeg" if d.starts_with(b"\xff\xd8") => {
            let mut pos = 2;
            let mut size = (0, 0);
            loop {
                let (Some(&0xff), Some(&mark), Some(len)) = (d.get(pos), d.get(pos + 1), be16(pos + 2)) else { break };
                if mark == 0xda || mark == 0xd9 || len < 2 {
                    break;
                }
                pos += 4;
                if matches!(mark, 0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf) {
                    size = (be16(pos + 3).unwrap_or(0), be16(pos + 1).unwrap_or(0));
                    break;
                }
                pos += (len as usize - 2).min(d.len().saturating_sub(pos));
            }
            size
        }
        _ => (0, 0),
    };
    Some((kind, w * h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(data: &[u8]) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                out.push(if i <= c.len() { T[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
            }
        }
        out
    }

    #[test]
    fn images_counted_and_measured_by_header() {
        let gif = b"GIF89a\x64\x00\x32\x00\x00\x00\x00";
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 1, 0, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
        let msg = format!(
            "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\n{}\n--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\n{}\n--b\nContent-Type: image/jpeg\n\nnot base64\n--b--\n",
            b64(gif),
            b64(&png)
        );
        let view = MessageView::parse(msg.as_bytes());
        let (set, _) = RuleSet::from_text("t.cf", "");
        let check = |f: &str, a: &[&str]| run(f, &a.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &crate::rules::evals::EvalText { kind: "body", rewritten_body: None }, &view, &set).unwrap();
        assert!(check("image_count", &["all", "2", "2"]));
        assert!(check("image_count", &["gif", "1", "1"]));
        assert!(!check("image_count", &["jpeg", "1"]));
        // 100 x 50 + 256 x 2
        assert!(check("pixel_coverage", &["all", "5512", "5512"]));
        assert!(check("pixel_coverage", &["png", "512"]));
        // a few octets of text over 5512 pixels
        assert!(check("image_to_text_ratio", &["all", "0.000", "0.008"]));
        assert!(!check("image_to_text_ratio", &["all", "0.008", "1"]));
        assert!(!check("image_to_text_ratio", &["jpeg", "0.000", "1"]));
        // rawbody: the 2 decoded octets "hi" (the boundary takes the newline), 0.00036 per pixel
        assert!(run("image_to_text_ratio", &["all", "0.0003", "0.0004"].map(String::from), &crate::rules::evals::EvalText { kind: "rawbody", rewritten_body: None }, &view, &set).unwrap());
    }
}
