//! Python exchangelib 4.9 (which still speaks POX autodiscover) reads our answers. It runs
//! under `MAILWARD_TEST_PYTHON` (set by `scripts/test` from `scripts/python-requirements.txt`);
//! without it the test makes its own virtualenv under `target/` the first time.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{OUTLOOK_SCHEMA, outlook_request, post, settings, state_with};

fn python_with_exchangelib() -> PathBuf {
    if let Some(python) = std::env::var_os("MAILWARD_TEST_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv-exchangelib");
    let python = venv.join("bin/python");
    let ready = python.exists() && Command::new(&python).args(["-c", "import exchangelib"]).status().is_ok_and(|s| s.success());
    if !ready {
        let status = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 is needed for the exchangelib test");
        assert!(status.success(), "python3 -m venv failed");
        let status = Command::new(&python).args(["-m", "pip", "install", "--quiet", "exchangelib==4.9.*"]).status().unwrap();
        assert!(status.success(), "pip install exchangelib==4.9.* failed");
    }
    python
}

#[tokio::test]
async fn exchangelib_reads_our_autodiscover_answers() {
    let state = state_with(settings());
    let dir = tempfile::tempdir().unwrap();
    let tls = post(&state, "/autodiscover/autodiscover.xml", "example.org", outlook_request("alice@example.org", OUTLOOK_SCHEMA)).await;
    let starttls = post(&state, "/autodiscover/autodiscover.xml", "example.org", outlook_request("info@shop.example.com", OUTLOOK_SCHEMA)).await;
    let error = post(&state, "/autodiscover/autodiscover.xml", "example.org", outlook_request("alice@example.org", "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006")).await;
    let files: Vec<PathBuf> = [("tls.xml", &tls.body), ("starttls.xml", &starttls.body), ("error.xml", &error.body)]
        .into_iter()
        .map(|(name, body)| {
            let path = dir.path().join(name);
            std::fs::write(&path, body).unwrap();
            path
        })
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/autoconfig/exchangelib_parse.py");
    let output = Command::new(python_with_exchangelib()).arg(script).args(&files).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);

    let tls = &lines[0];
    assert_eq!(tls["display_name"], "Example Hosting");
    assert_eq!(tls["account_type"], "email");
    assert_eq!(tls["action"], "settings");
    let protocols = tls["protocols"].as_array().unwrap();
    let summary: Vec<(String, String, i64, bool)> = protocols
        .iter()
        .map(|p| (p["type"].as_str().unwrap().to_string(), p["server"].as_str().unwrap().to_string(), p["port"].as_i64().unwrap(), p["ssl"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("IMAP".to_string(), "mail.example.net".to_string(), 993, true),
            ("POP3".to_string(), "mail.example.net".to_string(), 995, true),
            ("SMTP".to_string(), "mail.example.net".to_string(), 465, true),
        ]
    );
    for p in protocols {
        assert_eq!(p["login_name"], "alice@example.org");
        assert_eq!(p["spa"], false, "SPA must be off or Outlook tries NTLM");
        assert_eq!(p["auth_required"], true);
    }

    let starttls = lines[1]["protocols"].as_array().unwrap();
    assert_eq!(starttls.len(), 2);
    assert!(starttls.iter().all(|p| p["ssl"] == true), "STARTTLS must read as SSL on: {starttls:?}");
    assert_eq!(starttls[0]["port"], 143);

    assert!(lines[2]["error"].as_str().unwrap().contains("601"), "{}", lines[2]);
}
