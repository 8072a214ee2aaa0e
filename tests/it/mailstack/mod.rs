//! Mail-stack integration: generated Sieve scripts against real `sievec`/`sieve-test`, the
//! apply writer against real `postmap`/`sievec`, and delivery through a private Dovecot
//! (LMTP + IMAP + Pigeonhole) reading the generated files.

mod apply;
mod contrib;
mod delivery;
mod end_to_end;
mod multi_node;
mod purge;
mod sieve;

use std::path::Path;
use std::process::Command;

/// A user `sieve-test` can run as: it refuses root. Created with `useradd` when missing.
pub const TEST_USER: &str = "mailward-test";

pub fn ensure_test_user() -> (u32, u32) {
    let id = |flag: &str| Command::new("id").arg(flag).arg(TEST_USER).output().unwrap();
    if !id("-u").status.success() {
        let out = Command::new("useradd").args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER]).output().unwrap();
        // Another test may have created it in the meantime.
        assert!(out.status.success() || id("-u").status.success(), "useradd failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let num = |flag: &str| String::from_utf8(id(flag).stdout).unwrap().trim().parse::<u32>().unwrap();
    (num("-u"), num("-g"))
}

pub fn running_as_root() -> bool {
    String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap().trim() == "0"
}

/// Runs a program as the test user when we are root, directly otherwise.
pub fn as_test_user(program: &str, args: &[&str], cwd: &Path) -> std::process::Output {
    let mut cmd = if running_as_root() {
        ensure_test_user();
        let mut c = Command::new("runuser");
        c.args(["-u", TEST_USER, "--", program]);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).current_dir(cwd).output().unwrap()
}

/// Lets the test user into a tempdir that root created 0700.
pub fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A group's id from the system's group database (`getent group`).
pub fn group_id(name: &str) -> Option<u32> {
    let out = Command::new("getent").args(["group", name]).output().ok()?;
    String::from_utf8(out.stdout).ok()?.split(':').nth(2)?.trim().parse().ok()
}
