//! The `MIRRORED.BY` file: one mirror URL per line with optional `key=value` attributes
//! (`weight=N`), `#` comments. Pure: the random number for the weighted choice is passed in.

/// One mirror: its base URL (no trailing `/`) and its weight (1 unless the file says otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    pub url: String,
    pub weight: u64,
}

/// A line that was skipped and why, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MirrorDiagnostic {
    pub line: usize,
    pub message: String,
}

/// Parses `MIRRORED.BY`. Like sa-update, only http and https mirrors are kept; unlike it, a
/// skipped line is reported instead of silently dropped.
pub fn parse_mirrored_by(text: &str) -> (Vec<Mirror>, Vec<MirrorDiagnostic>) {
    let mut mirrors: Vec<Mirror> = Vec::new();
    let mut diagnostics = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let url = fields.next().unwrap_or_default();
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) || url.len() <= "https://".len() {
            diagnostics.push(MirrorDiagnostic { line: index + 1, message: format!("not an http or https mirror: {url:?}") });
            continue;
        }
        let mut weight = 1;
        for field in fields {
            // Other attributes are ignored, as sa-update ignores them.
            if let Some(("weight", value)) = field.split_once('=') {
                match value.parse::<u64>() {
                    Ok(w) if (1..=1_000_000).contains(&w) => weight = w,
                    _ => diagnostics.push(MirrorDiagnostic { line: index + 1, message: format!("invalid weight {value:?}, using 1") }),
                }
            }
        }
        let url = url.trim_end_matches('/').to_string();
        if mirrors.iter().any(|m| m.url == url) {
            diagnostics.push(MirrorDiagnostic { line: index + 1, message: format!("duplicate mirror {url}") });
            continue;
        }
        mirrors.push(Mirror { url, weight });
    }
    (mirrors, diagnostics)
}

/// The order in which to try the mirrors: the first is chosen by weight from `random` (any
/// number; it is reduced modulo the total weight), the rest follow the same rule among the
/// remaining ones, so each failure moves on to a mirror not yet tried.
pub fn try_order(mirrors: &[Mirror], mut random: u64) -> Vec<Mirror> {
    let mut left: Vec<Mirror> = mirrors.to_vec();
    // Largest weight first, as sa-update does, so equal draws are stable.
    left.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.url.cmp(&b.url)));
    let mut order = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let total: u64 = left.iter().map(|m| m.weight).sum();
        let mut value = random % total.max(1);
        let mut pick = left.len() - 1;
        for (i, m) in left.iter().enumerate() {
            if value < m.weight {
                pick = i;
                break;
            }
            value -= m.weight;
        }
        order.push(left.remove(pick));
        // A fresh draw for the next position, derived so the order stays a pure function.
        random = random.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) >> 1;
    }
    order
}

/// Renders a `MIRRORED.BY` file for a published channel.
pub fn render_mirrored_by(mirrors: &[Mirror]) -> String {
    let mut out = String::from("# mirrors for this channel: URL [weight=N]\n");
    for m in mirrors {
        out.push_str(&format!("{} weight={}\n", m.url, m.weight));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_weights_comments_and_skips_non_http() {
        let text = "# comment\nhttp://a.example/updates/ weight=5\n\nftp://b.example/x\nhttps://c.example weight=zero\nhttp://a.example/updates\n";
        let (mirrors, diags) = parse_mirrored_by(text);
        assert_eq!(
            mirrors,
            vec![Mirror { url: "http://a.example/updates".into(), weight: 5 }, Mirror { url: "https://c.example".into(), weight: 1 }]
        );
        let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
        assert_eq!(lines, vec![4, 5, 6]);
    }

    #[test]
    fn try_order_visits_every_mirror_once_and_follows_weight() {
        let mirrors = vec![Mirror { url: "http://heavy".into(), weight: 9 }, Mirror { url: "http://light".into(), weight: 1 }];
        let mut heavy_first = 0;
        for r in 0..100u64 {
            let order = try_order(&mirrors, r);
            assert_eq!(order.len(), 2);
            assert_ne!(order[0].url, order[1].url);
            if order[0].url == "http://heavy" {
                heavy_first += 1;
            }
        }
        assert_eq!(heavy_first, 90);
        assert!(try_order(&[], 3).is_empty());
    }

    #[test]
    fn render_round_trips() {
        let mirrors = vec![Mirror { url: "http://m1.example/ch".into(), weight: 3 }];
        assert_eq!(parse_mirrored_by(&render_mirrored_by(&mirrors)).0, mirrors);
    }
}
