//! The durability rule checked at the system-call level: the test runs itself under
//! `strace` and reads what the kernel was asked. After `durable::write`, the file's data
//! was synced before the rename, and the directory holding the new name (and each new
//! directory's parent) was opened and synced after it. Without strace (not Linux, not
//! installed) the test fails, naming it: `cargo xtask test` installs it.

#![cfg(not(target_arch = "wasm32"))]

use std::path::Path;
use std::process::Command;

/// Run in the child, under strace: one durable write into two new directories.
#[test]
fn child_write() {
    let Some(dir) = std::env::var_os("DURABLE_CHILD_DIR") else {
        return;
    };
    let target = Path::new(&dir).join("a/b/outcome.json");
    durable::write(&target, b"{\"nonce\": 1}").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"{\"nonce\": 1}");
}

/// One traced call: `(syscall, arguments, return value)`.
fn parse(line: &str) -> Option<(String, String, String)> {
    // `1234  openat(AT_FDCWD, "/x", O_RDONLY|O_CLOEXEC) = 3`, pid first with `-f`.
    let line = line
        .split_once(' ')
        .map_or(line, |(_, rest)| rest)
        .trim_start();
    let (call, ret) = line.rsplit_once(" = ")?;
    let (name, args) = call.trim_end().strip_suffix(')')?.split_once('(')?;
    Some((
        name.to_owned(),
        args.to_owned(),
        ret.split_whitespace().next()?.to_owned(),
    ))
}

#[test]
fn writes_sync_the_data_then_the_directory_after_the_rename() {
    let strace = ["/usr/bin/strace", "/bin/strace"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("strace is needed for this test (Debian: apt-get install strace)");
    let tmp = std::env::temp_dir().join(format!("durable-syscalls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let log = tmp.join("strace.log");
    let work = tmp.join("work");
    std::fs::create_dir(&work).unwrap();
    let status = Command::new(strace)
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,mkdir,mkdirat,rename,renameat,renameat2,fsync,fdatasync,close",
            "-o",
        ])
        .arg(&log)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "child_write", "--test-threads", "1"])
        .env("DURABLE_CHILD_DIR", &work)
        .status()
        .unwrap();
    assert!(status.success(), "the traced child failed");
    let text = std::fs::read_to_string(&log).unwrap();
    let calls: Vec<(String, String, String)> = text.lines().filter_map(parse).collect();

    // Follow file descriptors to the paths they were opened on.
    let mut fds = std::collections::HashMap::new();
    let mut events = Vec::new();
    let work_s = work.display().to_string();
    for (name, args, ret) in &calls {
        match name.as_str() {
            "openat" => {
                if let Some(path) = args.split('"').nth(1) {
                    fds.insert(ret.clone(), path.to_owned());
                }
            }
            "fsync" | "fdatasync" => {
                let fd = args.trim().to_owned();
                if let Some(path) = fds.get(&fd) {
                    events.push(format!("sync {path}"));
                }
            }
            "rename" | "renameat" | "renameat2" => {
                let paths: Vec<&str> = args.split('"').skip(1).step_by(2).collect();
                events.push(format!("rename {}", paths.last().unwrap_or(&"")));
            }
            "mkdir" | "mkdirat" => {
                if let Some(path) = args.split('"').nth(1) {
                    events.push(format!("mkdir {path}"));
                }
            }
            _ => {}
        }
    }
    let events: Vec<String> = events.into_iter().filter(|e| e.contains(&work_s)).collect();
    let at = |event: &str| {
        events
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("no `{event}` in {events:#?}"))
    };
    let target = format!("{work_s}/a/b/outcome.json");
    let rename = at(&format!("rename {target}"));
    assert!(
        at(&format!("sync {target}.tmp")) < rename,
        "data synced before the rename"
    );
    assert!(
        at(&format!("sync {work_s}/a/b")) > rename,
        "directory synced after the rename"
    );
    assert!(at(&format!("sync {work_s}/a")) > at(&format!("mkdir {work_s}/a/b")));
    assert!(at(&format!("sync {work_s}")) > at(&format!("mkdir {work_s}/a")));
    let _ = std::fs::remove_dir_all(&tmp);
}
