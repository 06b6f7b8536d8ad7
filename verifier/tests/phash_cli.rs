//! The `phash` binary: output format, `--score`, errors and exit status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/phash_go")
        .join(name)
}

/// The hash `expected.tsv` lists for `name`.
fn expected(name: &str) -> String {
    let table = std::fs::read_to_string(data("expected.tsv")).expect("expected.tsv");
    table
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('\t').map(str::to_owned))
        .expect(name)
}

fn phash(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phash"))
        .args(args)
        .output()
        .expect("run phash")
}

fn path(name: &str) -> String {
    data(name).to_str().expect("UTF-8 path").to_owned()
}

#[test]
fn prints_one_line_per_file() {
    let (a, b) = (path("rgb8_100x75.png"), path("jpg420_37x130.jpg"));
    let out = phash(&[&a, &b]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let want = format!(
        "{a}\t{}\n{b}\t{}\n",
        expected("rgb8_100x75.png"),
        expected("jpg420_37x130.jpg")
    );
    assert_eq!(stdout, want);
}

#[test]
fn score_concatenates_big_endian_hashes_in_order() {
    let (a, b) = (path("g8_100x75.png"), path("p2_64x64.png"));
    let out = phash(&["--score", &a, &b]);
    assert!(out.status.success(), "{out:?}");
    let strip = |h: String| h.trim_start_matches("0x").to_owned();
    let want = format!(
        "0x{}{}\n",
        strip(expected("g8_100x75.png")),
        strip(expected("p2_64x64.png"))
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
}

#[test]
fn failures_are_reported_per_file_and_set_the_exit_status() {
    let good = path("rgb8_100x75.png");
    let missing = path("no_such_file.png");
    let not_image = path("expected.tsv");
    let out = phash(&[&missing, &good, &not_image]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with(&format!("{missing}\terror: cannot read")),
        "{stdout}"
    );
    assert_eq!(lines[1], format!("{good}\t{}", expected("rgb8_100x75.png")));
    assert!(
        lines[2].starts_with(&format!("{not_image}\terror: not a PNG or JPEG")),
        "{stdout}"
    );
}

#[test]
fn score_with_a_failure_prints_no_score() {
    let out = phash(&["--score", &path("rgb8_100x75.png"), &path("expected.tsv")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("not a PNG or JPEG")
    );
}

#[test]
fn help_and_usage_errors() {
    let out = phash(&["--help"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("usage: phash [--score] FILE...")
    );
    assert_eq!(phash(&[]).status.code(), Some(2));
    assert_eq!(phash(&["--frobnicate", "x.png"]).status.code(), Some(2));
}
