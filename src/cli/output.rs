//! Printing results: JSON for scripts, aligned text for people.

use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// One object: JSON, or `key: value` lines from its JSON form.
    pub fn object<T: Serialize>(&self, value: &T) {
        let v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        if self.json {
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            return;
        }
        if let serde_json::Value::Object(map) = v {
            let width = map.keys().map(String::len).max().unwrap_or(0);
            for (k, v) in map {
                outln!("{k:width$}  {}", scalar(&v));
            }
        }
    }

    /// A list: JSON array, or a table of the named columns.
    pub fn table<T: Serialize>(&self, items: &[T], columns: &[&str]) {
        let values: Vec<serde_json::Value> = items.iter().map(|i| serde_json::to_value(i).unwrap_or(serde_json::Value::Null)).collect();
        if self.json {
            outln!("{}", serde_json::to_string_pretty(&values).unwrap_or_default());
            return;
        }
        let rows: Vec<Vec<String>> = values.iter().map(|v| columns.iter().map(|c| scalar(lookup(v, c))).collect()).collect();
        let widths: Vec<usize> = columns.iter().enumerate().map(|(i, c)| rows.iter().map(|r| r[i].chars().count()).chain([c.len()]).max().unwrap_or(0)).collect();
        let line = |cells: Vec<String>| cells.iter().enumerate().map(|(i, c)| format!("{c:w$}", w = widths[i])).collect::<Vec<_>>().join("  ").trim_end().to_string();
        outln!("{}", line(columns.iter().map(|c| c.to_uppercase()).collect()));
        for r in rows {
            outln!("{}", line(r));
        }
    }

    /// A confirmation for people; JSON mode prints `{"ok": true, ...}` with the given fields.
    pub fn done(&self, message: &str, fields: serde_json::Value) {
        if self.json {
            let mut obj = serde_json::json!({ "ok": true, "message": message });
            if let (Some(o), serde_json::Value::Object(extra)) = (obj.as_object_mut(), fields) {
                o.extend(extra);
            }
            outln!("{obj}");
        } else {
            outln!("{message}");
        }
    }
}

fn lookup<'a>(v: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(v, |v, k| v.get(k).unwrap_or(&serde_json::Value::Null))
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.chars().flat_map(char::escape_debug).collect::<String>().replace("\\'", "'").replace("\\\"", "\""),
        serde_json::Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}
