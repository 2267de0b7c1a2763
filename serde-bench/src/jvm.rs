//! The optional JVM columns: Spark's own serializers (JavaSerializer, KryoSerializer registered
//! and unregistered, the UnsafeRow encoder) timed on the same Person records in the same run.
//!
//! Needs `java` and `javac` (JDK 17) on the PATH and a Spark distribution's jars, found in
//! `$SPARK_HOME/jars` or in an installed `pyspark` package; nothing is downloaded. The harness
//! (`jvm/spark/ember/bench/SparkSerializers.java` and the `Person` class, embedded here) is
//! compiled into a temporary folder, reads the records from a stream the Java analogue writes
//! (the JDK reads it as its own), and prints one line per figure.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::codec::Codec;
use crate::data::Person;
use crate::java::JavaSerializer;
use crate::record::Record;
use crate::reproduce::{Config, Measurement};

const PERSON_JAVA: &str = include_str!("../jvm/src/ember/bench/Person.java");
const HARNESS_JAVA: &str = include_str!("../jvm/spark/ember/bench/SparkSerializers.java");

/// The packages Spark's launcher opens to unnamed modules on JDK 17 (Kryo and Spark reflect
/// into them).
const ADD_OPENS: &[&str] = &[
    "java.base/java.lang",
    "java.base/java.lang.invoke",
    "java.base/java.lang.reflect",
    "java.base/java.io",
    "java.base/java.net",
    "java.base/java.nio",
    "java.base/java.util",
    "java.base/java.util.concurrent",
    "java.base/java.util.concurrent.atomic",
    "java.base/sun.nio.ch",
    "java.base/sun.nio.cs",
    "java.base/sun.security.action",
    "java.base/sun.util.calendar",
];

/// Why the JVM columns could not be measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JvmError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} failed ({status}): {stderr}")]
    Command { what: &'static str, status: String, stderr: String },
    #[error("JVM harness output: {0}")]
    Parse(String),
    #[error("writing the input stream: {0}")]
    Codec(String),
}

/// Where the JDK and Spark's jars are.
#[derive(Debug, Clone)]
pub struct SparkSetup {
    pub java: PathBuf,
    pub javac: PathBuf,
    pub jars: PathBuf,
}

fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file())
}

fn pyspark_jars() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import importlib.util, os; s = importlib.util.find_spec('pyspark'); \
             print(os.path.dirname(s.origin) if s and s.origin else '')",
        ])
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    let jars = Path::new(dir.trim()).join("jars");
    (!dir.trim().is_empty() && jars.is_dir()).then_some(jars)
}

/// Finds `java`, `javac` and Spark's jars, or says in one line what is missing.
pub fn find_spark() -> Result<SparkSetup, String> {
    let java = on_path("java").ok_or("no `java` on the PATH")?;
    let javac = on_path("javac").ok_or("no `javac` on the PATH")?;
    let jars = std::env::var_os("SPARK_HOME")
        .map(|home| PathBuf::from(home).join("jars"))
        .filter(|p| p.is_dir())
        .or_else(pyspark_jars)
        .ok_or("no Spark jars ($SPARK_HOME/jars or an installed pyspark)")?;
    Ok(SparkSetup { java, javac, jars })
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> JvmError {
    let what = what.into();
    move |source| JvmError::Io { what, source }
}

fn run(mut command: Command, what: &'static str) -> Result<String, JvmError> {
    let out = command.output().map_err(io(what))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        return Err(JvmError::Command {
            what,
            status: out.status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Times Spark's serializers on `config.rows` Person records; figures are named `jvm-java`,
/// `jvm-kryo-registered`, `jvm-kryo-unregistered` and `jvm-unsaferow` (encode and decode).
pub fn run_jvm(setup: &SparkSetup, config: &Config) -> Result<Vec<Measurement>, JvmError> {
    let work = std::env::temp_dir().join(format!("ember-jvm-{}", std::process::id()));
    let result = run_in(setup, config, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn run_in(setup: &SparkSetup, config: &Config, work: &Path) -> Result<Vec<Measurement>, JvmError> {
    let src = work.join("src/ember/bench");
    let classes = work.join("classes");
    std::fs::create_dir_all(&src).map_err(io("creating the JVM work folder"))?;
    std::fs::create_dir_all(&classes).map_err(io("creating the JVM work folder"))?;
    let person_src = src.join("Person.java");
    let harness_src = src.join("SparkSerializers.java");
    std::fs::write(&person_src, PERSON_JAVA).map_err(io("writing Person.java"))?;
    std::fs::write(&harness_src, HARNESS_JAVA).map_err(io("writing SparkSerializers.java"))?;

    let rows = Person::generate(config.seed, config.rows);
    let mut bytes = Vec::new();
    Codec::<Person>::encode(&mut JavaSerializer::new(), &rows, &mut bytes)
        .map_err(|e| JvmError::Codec(e.to_string()))?;
    let input = work.join("person.ser");
    std::fs::write(&input, &bytes).map_err(io("writing the input stream"))?;

    let jars = format!("{}/*", setup.jars.display());
    let mut javac = Command::new(&setup.javac);
    javac
        .args(["--release", "17", "-encoding", "UTF-8", "-cp", &jars, "-d"])
        .arg(&classes)
        .arg(&person_src)
        .arg(&harness_src);
    run(javac, "javac")?;

    let mut java = Command::new(&setup.java);
    for module in ADD_OPENS {
        java.arg(format!("--add-opens={module}=ALL-UNNAMED"));
    }
    let classpath = format!("{}:{jars}", classes.display());
    java.args(["-cp", &classpath, "ember.bench.SparkSerializers"])
        .arg(&input)
        .arg(config.rounds.max(1).to_string());
    let stdout = run(java, "java")?;
    parse(&stdout, config)
}

/// Parses the harness's `RESULT name op median min max bytes` lines.
pub fn parse(stdout: &str, config: &Config) -> Result<Vec<Measurement>, JvmError> {
    let mut out = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with("RESULT ")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [_, codec, operation, median, min, max, bytes] = f[..] else {
            return Err(JvmError::Parse(line.to_owned()));
        };
        let num = |s: &str| s.parse::<f64>().map_err(|_| JvmError::Parse(line.to_owned()));
        out.push(Measurement {
            dataset: Person::DATASET.to_owned(),
            codec: codec.to_owned(),
            operation: operation.to_owned(),
            ns_per_row: num(median)?,
            ns_per_row_min: num(min)?,
            ns_per_row_max: num(max)?,
            bytes_per_row: num(bytes)?,
            input: if operation == "encode" { "records" } else { "jvm-bytes" }.to_owned(),
            rows: config.rows,
            rounds: config.rounds,
        });
    }
    if out.is_empty() {
        return Err(JvmError::Parse("no RESULT lines".to_owned()));
    }
    Ok(out)
}
