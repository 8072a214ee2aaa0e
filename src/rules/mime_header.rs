//! `mimeheader` rules (the MIMEHeader plugin): a header of each MIME node, the message itself
//! and multipart containers included, matched on its own.
//!
//! Absent on purpose: `tflags range=` and `concat` (no rule in Debian's set uses them).

use super::message::{HeaderField, MessageView, decode_header_value};

/// `NAME` or `NAME:raw` as written in the rule.
#[derive(Debug, Clone)]
pub struct MimeHeaderRequest {
    pub name: String,
    pub raw: bool,
}

impl MimeHeaderRequest {
    pub fn parse(request: &str) -> Option<MimeHeaderRequest> {
        let request = request.trim_end_matches(':');
        let (name, raw) = match request.strip_suffix(":raw") {
            Some(n) => (n, true),
            None => (request, false),
        };
        (!name.is_empty() && !name.contains(':') && !name.chars().any(char::is_whitespace)).then(|| MimeHeaderRequest { name: name.to_string(), raw })
    }
}

/// The value each node gives, in order: the last instance of the header, decoded with a final
/// newline (`get_header`), or as written with its folding (`raw_header`, which gives '' when
/// the header is absent); None when absent and not raw.
pub fn node_values(view: &MessageView, req: &MimeHeaderRequest) -> Vec<Option<Vec<u8>>> {
    view.mime_nodes
        .iter()
        .map(|node| {
            let headers = &node.headers;
            let last: Option<&HeaderField> = headers.iter().rev().find(|h| h.name.eq_ignore_ascii_case(&req.name));
            if req.name == "ALL" {
                // get_all_headers: every header unfolded, one a line
                let mut out = Vec::new();
                for h in headers {
                    out.extend_from_slice(h.name.as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(&if req.raw { h.raw.clone() } else { decode_header_value(&h.name, &h.raw) });
                    if !out.ends_with(b"\n") {
                        out.push(b'\n');
                    }
                }
                return Some(out);
            }
            match (last, req.raw) {
                (Some(h), true) => Some(h.raw.clone()),
                (None, true) => Some(Vec::new()),
                (Some(h), false) => {
                    let mut v = decode_header_value(&h.name, &h.raw);
                    v.push(b'\n');
                    Some(v)
                }
                (None, false) => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mime_node_gives_its_last_header() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: application/pdf; name=\"a.pdf\"\nContent-Type: image/gif\n\nx\n--b--\n";
        let view = MessageView::parse(msg);
        let req = MimeHeaderRequest::parse("Content-Type").unwrap();
        let got: Vec<String> = node_values(&view, &req).into_iter().map(|v| String::from_utf8_lossy(&v.unwrap_or_default()).into_owned()).collect();
        assert_eq!(got, vec!["multipart/mixed; boundary=b\n", "text/plain\n", "image/gif\n"]);
        let raw = MimeHeaderRequest::parse("Content-Disposition:raw").unwrap();
        assert_eq!(node_values(&view, &raw), vec![Some(Vec::new()); 3]);
        assert!(MimeHeaderRequest::parse("Content-Type:addr").is_none());
    }
}
