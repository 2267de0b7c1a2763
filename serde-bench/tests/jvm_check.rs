//! Generated data sets through the real JDK: Ember writes a stream, the JDK's
//! `ObjectInputStream` reads it and its `ObjectOutputStream` writes it again, Spark-style
//! (`jvm/src/ember/bench/Reserialize.java`); the bytes must be the same.
//!
//! Needs a JDK 17 on the PATH, so it is ignored by default:
//! `cargo test -p ember-serde-bench --test jvm_check -- --ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

use ember_serde_bench::java::{JavaRecord, JavaSerializer};
use ember_serde_bench::{Codec, Person, Wide, WordCount};

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

fn compile_jvm_sources(build: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("jvm/src/ember/bench");
    let mut javac = Command::new("javac");
    javac.args(["--release", "17", "-encoding", "UTF-8", "-d"]);
    javac.arg(build);
    for entry in std::fs::read_dir(&src).unwrap() {
        javac.arg(entry.unwrap().path());
    }
    run(&mut javac);
}

fn check<R: JavaRecord>(dir: &Path, build: &Path, rows: usize) {
    let data = R::generate(2026, rows);
    let mut ours = Vec::new();
    JavaSerializer::new().encode(&data, &mut ours).unwrap();
    let input = dir.join(format!("{}.ember.ser", R::DATASET));
    let output = dir.join(format!("{}.jdk.ser", R::DATASET));
    std::fs::write(&input, &ours).unwrap();
    run(Command::new("java")
        .arg("-cp")
        .arg(build)
        .arg("ember.bench.Reserialize")
        .arg(&input)
        .arg(&output));
    let jdk = std::fs::read(&output).unwrap();
    let first_difference = ours.iter().zip(&jdk).position(|(a, b)| a != b);
    assert!(
        ours == jdk,
        "{}: Ember {} bytes, JDK {} bytes, first difference at {first_difference:?}",
        R::DATASET,
        ours.len(),
        jdk.len()
    );
}

#[test]
#[ignore = "needs a JDK 17 on the PATH"]
fn the_jdk_rewrites_ember_streams_byte_for_byte() {
    let dir: PathBuf = std::env::temp_dir().join(format!("ember-jvm-check-{}", std::process::id()));
    let build = dir.join("classes");
    std::fs::create_dir_all(&build).unwrap();
    compile_jvm_sources(&build);
    check::<Person>(&dir, &build, 10_000);
    check::<Wide>(&dir, &build, 10_000);
    check::<WordCount>(&dir, &build, 10_000);
    std::fs::remove_dir_all(&dir).unwrap();
}
