//! Rspamd's own symbol names, which the export must not define again.

use std::collections::HashSet;
use std::sync::OnceLock;

const LIST: &str = include_str!("rspamd_3_4_symbols.txt");

/// The names in `rspamd_3_4_symbols.txt`.
pub fn names() -> &'static HashSet<&'static str> {
    static NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| LIST.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect())
}

pub fn is_native(name: &str) -> bool {
    names().contains(name)
}
