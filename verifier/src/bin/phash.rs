//! `phash FILE...`: the network's perceptual hash of PNG/JPEG files.
//!
//! One line per file, `FILE<TAB>0x<16 hex digits>` or `FILE<TAB>error: <reason>`; with
//! `--score`, one `0x...` line with the score of all files (8 bytes each, big-endian, in
//! argument order). Exits with status 1 if any file failed (after processing the others),
//! 2 on a usage error.

use std::process::ExitCode;

use anyhow::Context;
use verifier::phash::{PHash, phash_bytes};

const USAGE: &str = "\
usage: phash [--score] FILE...

Computes the network's perceptual hash (goimagehash v1.1.0 PerceptionHash, bit-exact) of
each PNG or JPEG file.

  (default)  one line per file: FILE<TAB>0x<16 lowercase hex digits>,
             or FILE<TAB>error: <reason>
  --score    one line: 0x followed by the task score, the 8-byte big-endian hashes of
             all files concatenated in argument order (if any file fails, its
             error goes to standard error and no score is printed)
  -h, --help show this help

Exit status: 0 if every file was hashed, 1 if any failed, 2 on a usage error.";

fn hash_file(path: &str) -> anyhow::Result<PHash> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    Ok(phash_bytes(&bytes)?)
}

fn main() -> ExitCode {
    let mut score_mode = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--score" => score_mode = true,
            flag if flag.starts_with("--") => {
                eprintln!("phash: unknown option {flag}\n\n{USAGE}");
                return ExitCode::from(2);
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }

    let mut failed = false;
    let mut score = String::from("0x");
    for file in &files {
        match hash_file(file) {
            Ok(hash) if score_mode => {
                score.extend(hash.to_be_bytes().iter().map(|b| format!("{b:02x}")));
            }
            Ok(hash) => println!("{file}\t{hash}"),
            Err(e) => {
                failed = true;
                if score_mode {
                    eprintln!("{file}\terror: {e:#}");
                } else {
                    println!("{file}\terror: {e:#}");
                }
            }
        }
    }
    if score_mode && !failed {
        println!("{score}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
