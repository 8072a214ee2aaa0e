//! The pure modules named in the code map of `src/lib.rs` must not do I/O: they import none of
//! the crates that reach the network, the database or the runtime.

use std::path::Path;

const PURE: &[&str] = &[
    "src/model",
    "src/access",
    "src/password.rs",
    "src/autoconfig/snapshot.rs",
    "src/autoconfig/request.rs",
    "src/autoconfig/render",
    "src/dns/records.rs",
    "src/check/document.rs",
    "src/spam/headers.rs",
    "src/spam/policy.rs",
    "src/spam/verdict.rs",
    "src/spam/explain.rs",
    "src/sieve",
    "src/apply/plan.rs",
    "src/apply/plan",
    "src/apply/input.rs",
    // the rule engine; its file edge is src/rules/load.rs and src/rules/cli.rs
    "src/rules/charset.rs",
    "src/rules/engine.rs",
    "src/rules/evals",
    "src/rules/expr.rs",
    "src/rules/header_get.rs",
    "src/rules/html.rs",
    "src/rules/message.rs",
    "src/rules/mime_header.rs",
    "src/rules/parse.rs",
    "src/rules/perl_regex.rs",
    "src/rules/registry.rs",
    "src/rules/prefilter.rs",
    "src/rules/rspamd",
    "src/rules/pseudo_headers.rs",
    "src/rules/relays.rs",
    "src/rules/uri.rs",
    // spam headers, explanation, policy resolution, verdict; its edge is src/spam/cli.rs
    "src/spam/headers.rs",
    "src/spam/policy.rs",
    "src/spam/verdict.rs",
    "src/spam/explain.rs",
    // rule channels; edges are the other src/updates files
    "src/updates/channel.rs",
    "src/updates/mirrors.rs",
    "src/updates/verify.rs",
    "src/updates/extract.rs",
    "src/updates/signature.rs",
];
const IO_CRATES: &[&str] = &["tokio", "sqlx", "axum", "indymilter", "reqwest", "hickory_resolver", "hickory_proto", "std::fs", "std::net", "std::process"];

fn rust_files(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn pure_modules_import_no_io_crates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for p in PURE {
        let path = root.join(p);
        assert!(path.exists(), "pure module {p} listed but missing");
        rust_files(&path, &mut files);
    }
    assert!(!files.is_empty());
    let mut offenders = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for krate in IO_CRATES {
                if code.contains(&format!("{krate}::")) || code.contains(&format!("use {krate}")) {
                    offenders.push(format!("{}:{}: {}", file.display(), n + 1, krate));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "pure modules doing I/O:\n{}", offenders.join("\n"));
}
