//! Typed reads from a TOML table that record problems instead of stopping at the first one.

use super::ConfigProblem;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;

pub(super) struct Reader {
    table: toml::Table,
    /// Every dotted key the program asked for; the rest of the file is reported as unknown.
    known: BTreeSet<String>,
    problems: Vec<ConfigProblem>,
}

impl Reader {
    pub fn new(table: toml::Table) -> Self {
        Reader { table, known: BTreeSet::new(), problems: Vec::new() }
    }

    pub fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(ConfigProblem { key: key.to_string(), message: message.into() });
    }

    fn lookup(&mut self, key: &str) -> Option<toml::Value> {
        self.known.insert(key.to_string());
        let mut parts = key.split('.').peekable();
        let mut table = &self.table;
        while let Some(part) = parts.next() {
            let value = table.get(part)?;
            if parts.peek().is_none() {
                return Some(value.clone());
            }
            table = value.as_table()?;
        }
        None
    }

    pub fn optional_string(&mut self, key: &str) -> Option<String> {
        match self.lookup(key)? {
            toml::Value::String(s) => Some(s),
            other => {
                self.problem(key, format!("expected a string, found {}", other.type_str()));
                None
            }
        }
    }

    pub fn string(&mut self, key: &str, default: &str) -> String {
        self.optional_string(key).unwrap_or_else(|| default.to_string())
    }

    pub fn path(&mut self, key: &str, default: &str) -> PathBuf {
        PathBuf::from(self.string(key, default))
    }

    pub fn optional_path(&mut self, key: &str) -> Option<PathBuf> {
        self.optional_string(key).filter(|s| !s.is_empty()).map(PathBuf::from)
    }

    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.lookup(key) {
            None => default,
            Some(toml::Value::Boolean(b)) => b,
            Some(other) => {
                self.problem(key, format!("expected true or false, found {}", other.type_str()));
                default
            }
        }
    }

    pub fn u64_in(&mut self, key: &str, default: u64, range: RangeInclusive<u64>) -> u64 {
        match self.lookup(key) {
            None => default,
            Some(toml::Value::Integer(i)) if i >= 0 && range.contains(&(i as u64)) => i as u64,
            Some(toml::Value::Integer(i)) => {
                self.problem(key, format!("{i} is outside {}..={}", range.start(), range.end()));
                default
            }
            Some(other) => {
                self.problem(key, format!("expected an integer, found {}", other.type_str()));
                default
            }
        }
    }

    pub fn u32_in(&mut self, key: &str, default: u32, range: RangeInclusive<u32>) -> u32 {
        let wide = (*range.start() as u64)..=(*range.end() as u64);
        self.u64_in(key, default as u64, wide) as u32
    }

    pub fn parsed<T>(&mut self, key: &str, default: &str, parse: impl Fn(&str) -> Result<T, String>) -> T {
        let text = self.string(key, default);
        match parse(&text) {
            Ok(v) => v,
            Err(message) => {
                self.problem(key, message);
                parse(default).unwrap_or_else(|_| panic!("default of {key} must parse"))
            }
        }
    }

    pub fn socket_addr(&mut self, key: &str, default: &str) -> SocketAddr {
        self.parsed(key, default, |s| s.parse::<SocketAddr>().map_err(|_| format!("'{s}' is not HOST:PORT (an IP address and a port)")))
    }

    pub fn string_list(&mut self, key: &str) -> Vec<String> {
        match self.lookup(key) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.into_iter().enumerate() {
                    match item {
                        toml::Value::String(s) => out.push(s),
                        other => self.problem(&format!("{key}[{i}]"), format!("expected a string, found {}", other.type_str())),
                    }
                }
                out
            }
            Some(other) => {
                self.problem(key, format!("expected a list of strings, found {}", other.type_str()));
                Vec::new()
            }
        }
    }

    /// A list of strings that defaults to `default` when the key is absent.
    pub fn string_list_or(&mut self, key: &str, default: &[&str]) -> Vec<String> {
        if self.lookup(key).is_none() {
            return default.iter().map(|s| s.to_string()).collect();
        }
        self.string_list(key)
    }

    pub fn path_list(&mut self, key: &str, default: &[&str]) -> Vec<PathBuf> {
        if self.lookup(key).is_none() {
            return default.iter().map(PathBuf::from).collect();
        }
        self.string_list(key).into_iter().map(PathBuf::from).collect()
    }

    /// Reports every key in the file that nothing asked for, then all problems at once.
    pub fn finish(mut self) -> Result<(), Vec<ConfigProblem>> {
        let mut unknown = Vec::new();
        collect_unknown(&self.table, "", &self.known, &mut unknown);
        for key in unknown {
            self.problem(&key, "unknown key");
        }
        if self.problems.is_empty() { Ok(()) } else { Err(self.problems) }
    }
}

fn collect_unknown(table: &toml::Table, prefix: &str, known: &BTreeSet<String>, out: &mut Vec<String>) {
    for (name, value) in table {
        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        if known.contains(&key) {
            continue;
        }
        let is_section = known.iter().any(|k| k.starts_with(&format!("{key}.")));
        match value {
            toml::Value::Table(inner) if is_section => collect_unknown(inner, &key, known, out),
            _ => out.push(key),
        }
    }
}
