//! The `node run` command line, end to end on the reference checkpoints.

use std::path::Path;
use std::process::Command;

fn node(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_node"))
        .args(args)
        .output()
        .expect("node runs")
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-node-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn last_stdout_line(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn llm_task_writes_the_reference_result_and_its_score() {
    let cases = locate::json("gpt2-cases.json");
    let case = &cases[0];
    let dir = scratch("llm");
    let task = dir.join("task.json");
    std::fs::write(&task, case["task"].to_string()).unwrap();
    let out = dir.join("out");
    let models = locate::reference("");
    let output = node(&[
        "run",
        "--task",
        task.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = std::fs::read(out.join("0.json")).unwrap();
    assert_eq!(written, case["result_json"].as_str().unwrap().as_bytes());
    let expected = verifier::hex::encode(verifier::score::text_score([written.as_slice()]));
    assert_eq!(last_stdout_line(&output), expected);
}

#[test]
fn sd_task_prints_the_reference_phashes() {
    let case = locate::reference("sd-cases/one_step");
    let out = scratch("sd").join("out");
    let models = locate::reference("");
    let output = node(&[
        "run",
        "--task",
        case.join("task.json").to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tsv = std::fs::read_to_string(case.join("phash.tsv")).unwrap();
    let expected: String = tsv
        .lines()
        .map(|line| {
            line.split_once('\t')
                .unwrap()
                .1
                .trim_start_matches("0x")
                .to_string()
        })
        .collect();
    assert_eq!(last_stdout_line(&output), format!("0x{expected}"));
    assert!(Path::new(&out.join("0.png")).is_file());
}

#[test]
fn bad_arguments_and_missing_models_are_named() {
    let output = node(&["run", "--task"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("value is required for '--task"), "{stderr}");

    let output = node(&[
        "run",
        "--task",
        "/nonexistent/task.json",
        "--models",
        "/tmp",
        "--out",
        "/tmp/x",
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/task.json"));

    let dir = scratch("missing");
    let task = dir.join("task.json");
    std::fs::write(
        &task,
        r#"{"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}"#,
    )
    .unwrap();
    let output = node(&[
        "run",
        "--task",
        task.to_str().unwrap(),
        "--models",
        dir.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-model"));

    let output = node(&[
        "run",
        "--task",
        task.to_str().unwrap(),
        "--models",
        "/tmp",
        "--out",
        "/tmp/x",
        "--backend",
        "tpu",
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("tpu"));
}
