//! The checker must read what real providers publish: every file of the ISPDB sample.

use mailward::check::document::{Format, parse_document};

#[test]
fn checker_parser_accepts_every_ispdb_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/ispdb");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    assert!(files.len() > 100, "expected the ISPDB sample, found {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        match parse_document(&bytes) {
            Ok(doc) if doc.format == Format::Thunderbird && !doc.incoming.is_empty() => {}
            Ok(doc) => failures.push(format!("{}: no incoming server ({:?})", file.display(), doc.diagnostics)),
            Err(e) => failures.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{} of {} files refused:\n{}", failures.len(), files.len(), failures.join("\n"));
}
