//! Unpacking a channel tarball without trusting it. Pure: bytes in, named files out; nothing
//! touches the file system here, so a hostile archive cannot write anywhere.
//!
//! What an archive may contain: regular files at the top level (an optional leading `./` is
//! dropped) whose names use sa-update's safe characters, within the count and size caps. Any
//! link, device, sub-directory, `..`, absolute path, duplicate or reserved name rejects the whole
//! archive: a channel is installed entirely or not at all.
//!
//! The `.cf` and `.pre` files are then rewritten as sa-update does, so the installed layout is
//! the same as Debian's `sa-update` produces: `@@MACRO@@` values substituted, and the lines that
//! could load code (`loadplugin`, `*_module`, `dcc_path`, ...) and `dns_server` commented out.

use std::io::Read as _;

/// Caps on what one channel archive may hold. The defaults are well above the official
/// SpamAssassin channel (about 100 files, 2 MB unpacked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The downloaded `.tar.gz` itself.
    pub max_compressed: u64,
    /// The whole decompressed tar stream, headers included (the gzip-bomb guard).
    pub max_unpacked: u64,
    pub max_file: u64,
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_compressed: 16 << 20, max_unpacked: 64 << 20, max_file: 16 << 20, max_files: 1000 }
    }
}

/// How file contents are rewritten: sa-update's macros and whether plugin lines stay.
#[derive(Clone, Debug, Default)]
pub struct Rewrite {
    pub macros: Vec<(String, String)>,
    /// sa-update's `--allowplugins`: keep `loadplugin` and similar lines.
    pub allow_plugins: bool,
}

impl Rewrite {
    /// The macro values Debian's sa-update 4.0.1 substitutes.
    pub fn debian(sa: &super::channel::SaVersion) -> Self {
        let macros = [
            ("VERSION", sa.perl()),
            ("CONTACT_ADDRESS", "the administrator of that system".into()),
            ("PREFIX", "/usr".into()),
            ("DEF_RULES_DIR", "/usr/share/spamassassin".into()),
            ("LOCAL_RULES_DIR", "/etc/spamassassin".into()),
            ("LOCAL_STATE_DIR", "/var/lib/spamassassin".into()),
            ("INSTALLSITELIB", "/usr/share/perl5".into()),
        ];
        Self { macros: macros.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), allow_plugins: false }
    }
}

/// One file of a channel, with its validated top-level name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleFile {
    pub name: String,
    pub contents: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtractError {
    #[error("tarball is {size} bytes, more than the {limit} byte limit")]
    CompressedTooLarge { size: u64, limit: u64 },
    #[error("tarball unpacks to more than {limit} bytes")]
    UnpackedTooLarge { limit: u64 },
    #[error("tarball has more than {limit} files")]
    TooManyFiles { limit: usize },
    #[error("file {name:?} in tarball is {size} bytes, more than the {limit} byte limit")]
    FileTooLarge { name: String, size: u64, limit: u64 },
    #[error("not a gzip-compressed tar archive: {0}")]
    Corrupt(String),
    #[error("entry {0:?} in tarball escapes the channel directory (absolute path or '..')")]
    PathTraversal(String),
    #[error("entry {0:?} in tarball is in a sub-directory: channel archives must be flat")]
    NotFlat(String),
    #[error("entry {name:?} in tarball is a {kind}: only regular files are allowed")]
    NotRegularFile { name: String, kind: &'static str },
    #[error("entry {0:?} in tarball has a name outside letters, digits and . , _ -")]
    BadName(String),
    #[error("entry {0:?} in tarball is reserved for the updater")]
    ReservedName(String),
    #[error("entry {0:?} appears twice in tarball")]
    Duplicate(String),
    #[error("tarball holds no .cf rule file")]
    NoRules,
}

/// Unpacks `tarball` within `limits`, then rewrites `.cf`/`.pre` files per `rewrite`.
/// Returns the files sorted by name.
pub fn extract(tarball: &[u8], limits: &Limits, rewrite: &Rewrite) -> Result<Vec<RuleFile>, ExtractError> {
    if tarball.len() as u64 > limits.max_compressed {
        return Err(ExtractError::CompressedTooLarge { size: tarball.len() as u64, limit: limits.max_compressed });
    }
    // Decompress up to one byte past the cap, so "exactly at the cap" and "over it" differ.
    let mut tar_bytes = Vec::new();
    flate2::read::GzDecoder::new(tarball)
        .take(limits.max_unpacked + 1)
        .read_to_end(&mut tar_bytes)
        .map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    if tar_bytes.len() as u64 > limits.max_unpacked {
        return Err(ExtractError::UnpackedTooLarge { limit: limits.max_unpacked });
    }

    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    let entries = archive.entries().map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    let mut files: Vec<RuleFile> = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| ExtractError::Corrupt(e.to_string()))?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            continue; // pax metadata for the whole archive, not a file
        }
        let name = checked_name(&raw_name)?;
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            // The archive's own `./` entry, as `tar -C dir -czf x.tar.gz .` writes it.
            tar::EntryType::Directory if name.is_none() => continue,
            tar::EntryType::Directory => return Err(ExtractError::NotFlat(raw_name)),
            other => return Err(ExtractError::NotRegularFile { name: raw_name, kind: kind_name(other) }),
        }
        let Some(name) = name else { return Err(ExtractError::BadName(raw_name)) };
        if files.len() >= limits.max_files {
            return Err(ExtractError::TooManyFiles { limit: limits.max_files });
        }
        let size = entry.header().size().map_err(|e| ExtractError::Corrupt(e.to_string()))?;
        if size > limits.max_file {
            return Err(ExtractError::FileTooLarge { name, size, limit: limits.max_file });
        }
        if files.iter().any(|f| f.name == name) {
            return Err(ExtractError::Duplicate(name));
        }
        let mut contents = Vec::with_capacity(size as usize);
        (&mut entry).take(limits.max_file + 1).read_to_end(&mut contents).map_err(|e| ExtractError::Corrupt(e.to_string()))?;
        if contents.len() as u64 > limits.max_file {
            return Err(ExtractError::FileTooLarge { name, size: contents.len() as u64, limit: limits.max_file });
        }
        files.push(RuleFile { name, contents });
    }
    if !files.iter().any(|f| f.name.ends_with(".cf")) {
        return Err(ExtractError::NoRules);
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    for file in &mut files {
        if file.name.ends_with(".cf") || file.name.ends_with(".pre") {
            file.contents = rewrite_rules(&file.contents, rewrite);
        }
    }
    Ok(files)
}

/// Validates an entry name: `Ok(None)` for the archive root (`.` or `./`), `Ok(Some(name))`
/// for a flat, safe file name.
fn checked_name(raw: &str) -> Result<Option<String>, ExtractError> {
    let mut name = raw;
    while let Some(rest) = name.strip_prefix("./") {
        name = rest;
    }
    let name = name.trim_end_matches('/');
    if name.is_empty() || name == "." {
        return Ok(None);
    }
    if name.starts_with('/') || name.split('/').any(|part| part == "..") || name.contains('\\') {
        return Err(ExtractError::PathTraversal(raw.to_string()));
    }
    if name.contains('/') {
        return Err(ExtractError::NotFlat(raw.to_string()));
    }
    let safe = name.len() <= 128
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b',' | b'_' | b'-'));
    if !safe {
        return Err(ExtractError::BadName(raw.to_string()));
    }
    // The mirror list comes from DNS and is cached beside the rules; an archive must not
    // replace it.
    if name.eq_ignore_ascii_case("MIRRORED.BY") {
        return Err(ExtractError::ReservedName(raw.to_string()));
    }
    Ok(Some(name.to_string()))
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "symbolic link",
        tar::EntryType::Link => "hard link",
        tar::EntryType::Char | tar::EntryType::Block => "device",
        tar::EntryType::Fifo => "fifo",
        tar::EntryType::GNUSparse => "sparse file",
        _ => "special entry",
    }
}

/// sa-update's rewrite of a `.cf`/`.pre` file, byte for byte (including its quirk of eating
/// the whitespace after the commented keyword), so both tools install identical files.
pub fn rewrite_rules(contents: &[u8], rewrite: &Rewrite) -> Vec<u8> {
    use regex::bytes::{Captures, Regex};
    use std::sync::LazyLock;
    static MACRO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"@@([^@]+)@@").expect("static regex"));
    static PLUGIN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?m-u)^\s*(loadplugin|tryplugin|\S+_modules?|\S+_factory|dcc_(?:path|options)|pyzor_(?:path|options)|extracttext_external)\s",
        )
        .expect("static regex")
    });
    static DNS_SERVER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m-u)^\s*(dns_server)").expect("static regex"));

    let out = MACRO.replace_all(contents, |c: &Captures<'_>| {
        let key = String::from_utf8_lossy(&c[1]);
        match rewrite.macros.iter().find(|(k, _)| *k == key) {
            Some((_, v)) if !v.is_empty() => v.as_bytes().to_vec(),
            _ => c[0].to_vec(),
        }
    });
    let out = if rewrite.allow_plugins {
        out
    } else {
        std::borrow::Cow::Owned(
            PLUGIN.replace_all(&out, &b"#(commented by sa-update, no --allowplugins switch specified)# ${1}"[..]).into_owned(),
        )
    };
    DNS_SERVER.replace_all(&out, &b"#(commented by sa-update, not allowed)# ${1}"[..]).into_owned()
}

/// Packs files into a flat, reproducible `.tar.gz` (sorted names, mode 0644, owner 0, a fixed
/// time stamp), the inverse of [`extract`]. Pure: in memory.
pub fn pack(files: &[RuleFile]) -> Vec<u8> {
    let mut sorted: Vec<&RuleFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut builder = tar::Builder::new(encoder);
    for file in sorted {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(file.contents.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        // A fixed date keeps the tarball, and so its checksums, reproducible.
        header.set_mtime(1_700_000_000);
        builder.append_data(&mut header, &file.name, file.contents.as_slice()).expect("writing to memory cannot fail");
    }
    let encoder = builder.into_inner().expect("writing to memory cannot fail");
    encoder.finish().expect("writing to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        assert_eq!(checked_name("./"), Ok(None));
        assert_eq!(checked_name("./72_active.cf"), Ok(Some("72_active.cf".into())));
        assert_eq!(checked_name("STATISTICS-set0.txt"), Ok(Some("STATISTICS-set0.txt".into())));
        assert!(matches!(checked_name("../evil.cf"), Err(ExtractError::PathTraversal(_))));
        assert!(matches!(checked_name("/etc/passwd"), Err(ExtractError::PathTraversal(_))));
        assert!(matches!(checked_name("a/../../b"), Err(ExtractError::PathTraversal(_))));
        assert!(matches!(checked_name("sub/a.cf"), Err(ExtractError::NotFlat(_))));
        assert!(matches!(checked_name(".hidden.cf"), Err(ExtractError::BadName(_))));
        assert!(matches!(checked_name("a b.cf"), Err(ExtractError::BadName(_))));
        assert!(matches!(checked_name("MIRRORED.BY"), Err(ExtractError::ReservedName(_))));
    }

    #[test]
    fn rewrite_comments_out_code_loading_lines_like_sa_update() {
        let rw = Rewrite::debian(&crate::updates::channel::SaVersion(4, 0, 1));
        let input = b"loadplugin Mail::SpamAssassin::Plugin::Foo\n  dns_server 1.2.3.4\nheader X Subject =~ /x/\nrequire_version @@VERSION@@\n@@UNKNOWN@@\n";
        let out = String::from_utf8(rewrite_rules(input, &rw)).unwrap();
        assert_eq!(
            out,
            "#(commented by sa-update, no --allowplugins switch specified)# loadpluginMail::SpamAssassin::Plugin::Foo\n\
             #(commented by sa-update, not allowed)# dns_server 1.2.3.4\n\
             header X Subject =~ /x/\nrequire_version 4.000001\n@@UNKNOWN@@\n"
        );
    }

    /// A raw tar.gz with entries exactly as given, bypassing the tar crate's own path checks
    /// (a hostile publisher does not use a polite library).
    fn raw_tarball(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
        let mut tar = Vec::new();
        for (name, kind, data, link) in entries {
            let mut header = tar::Header::new_gnu();
            let bytes = header.as_old_mut();
            bytes.name[..name.len()].copy_from_slice(name.as_bytes());
            bytes.linkname[..link.len()].copy_from_slice(link.as_bytes());
            header.set_entry_type(*kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.extend_from_slice(header.as_bytes());
            tar.extend_from_slice(data);
            tar.resize(tar.len().div_ceil(512) * 512, 0);
        }
        tar.resize(tar.len() + 1024, 0);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    }

    fn check(entries: &[(&str, tar::EntryType, &[u8], &str)], limits: Limits) -> Result<Vec<String>, ExtractError> {
        extract(&raw_tarball(entries), &limits, &Rewrite::default()).map(|files| files.into_iter().map(|f| f.name).collect())
    }

    const FILE: tar::EntryType = tar::EntryType::Regular;

    #[test]
    fn flat_archive_with_dot_slash_root_extracts() {
        let got = check(
            &[("./", tar::EntryType::Directory, b"", ""), ("./b.cf", FILE, b"score X 1\n", ""), ("a.pre", FILE, b"", "")],
            Limits::default(),
        );
        assert_eq!(got, Ok(vec!["a.pre".to_string(), "b.cf".to_string()]));
    }

    #[test]
    fn hostile_archives_are_refused_whole() {
        let cf: &[u8] = b"score X 1\n";
        type Entries<'a> = Vec<(&'a str, tar::EntryType, &'a [u8], &'a str)>;
        let cases: Vec<(Entries<'_>, &str)> = vec![
            (vec![("ok.cf", FILE, cf, ""), ("../evil.cf", FILE, cf, "")], "escapes"),
            (vec![("/etc/cron.d/evil", FILE, cf, "")], "escapes"),
            (vec![("ok.cf", FILE, cf, ""), ("link.cf", tar::EntryType::Symlink, b"", "/etc/passwd")], "symbolic link"),
            (vec![("ok.cf", FILE, cf, ""), ("hard.cf", tar::EntryType::Link, b"", "ok.cf")], "hard link"),
            (vec![("ok.cf", FILE, cf, ""), ("dev", tar::EntryType::Char, b"", "")], "device"),
            (vec![("sub/", tar::EntryType::Directory, b"", ""), ("sub/a.cf", FILE, cf, "")], "flat"),
            (vec![("ok.cf", FILE, cf, ""), ("ok.cf", FILE, cf, "")], "twice"),
            (vec![("ok.cf", FILE, cf, ""), ("MIRRORED.BY", FILE, b"http://evil/", "")], "reserved"),
            (vec![("bad name;rm.cf", FILE, cf, "")], "name outside"),
            (vec![("notes.txt", FILE, b"no rules", "")], "no .cf"),
            (vec![], "no .cf"),
        ];
        for (entries, expected) in cases {
            let err = check(&entries, Limits::default()).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err:?} should mention {expected:?}");
        }
    }

    #[test]
    fn caps_on_size_and_count() {
        let big = vec![b'#'; 4096];
        let small = Limits { max_file: 1000, ..Limits::default() };
        assert!(matches!(check(&[("a.cf", FILE, &big, "")], small), Err(ExtractError::FileTooLarge { .. })));
        let few = Limits { max_files: 2, ..Limits::default() };
        let many = [("a.cf", FILE, &b""[..], ""), ("b.cf", FILE, &b""[..], ""), ("c.cf", FILE, &b""[..], "")];
        assert_eq!(check(&many, few), Err(ExtractError::TooManyFiles { limit: 2 }));
        // A gzip bomb: tiny compressed, huge unpacked.
        let zeros = vec![0u8; 2 << 20];
        let bomb = raw_tarball(&[("a.cf", FILE, &zeros, "")]);
        assert!(bomb.len() < 100_000, "{} bytes is no bomb", bomb.len());
        let tight = Limits { max_unpacked: 1 << 20, ..Limits::default() };
        assert_eq!(extract(&bomb, &tight, &Rewrite::default()), Err(ExtractError::UnpackedTooLarge { limit: 1 << 20 }));
        let tiny = Limits { max_compressed: 100, ..Limits::default() };
        assert!(matches!(extract(&bomb, &tiny, &Rewrite::default()), Err(ExtractError::CompressedTooLarge { .. })));
        assert!(matches!(extract(b"not gzip at all", &Limits::default(), &Rewrite::default()), Err(ExtractError::Corrupt(_))));
        let truncated = &bomb[..bomb.len() / 2];
        assert!(matches!(extract(truncated, &Limits::default(), &Rewrite::default()), Err(ExtractError::Corrupt(_))));
    }

    #[test]
    fn pack_round_trips_and_is_reproducible() {
        let files = vec![RuleFile { name: "b.cf".into(), contents: b"score B 1\n".to_vec() }, RuleFile { name: "a.cf".into(), contents: vec![] }];
        let packed = pack(&files);
        assert_eq!(packed, pack(&files));
        let back = extract(&packed, &Limits::default(), &Rewrite::default()).unwrap();
        assert_eq!(back.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["a.cf", "b.cf"]);
        assert_eq!(back[1].contents, b"score B 1\n");
    }
}
