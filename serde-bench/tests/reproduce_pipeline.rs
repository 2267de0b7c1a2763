//! The reproduction pipeline on a tiny batch: every (data set, codec) has encode and decode
//! figures and bytes per row in results.json, and chart.svg is an SVG naming every codec.

use std::time::Duration;

use ember_serde_bench::reproduce::{self, Config, Machine, Measurement, OPERATIONS};

#[test]
fn tiny_run_writes_complete_results_and_a_chart() {
    let config = Config { rows: 40, rounds: 5, min_round: Duration::ZERO, seed: 7 };
    let results = reproduce::run(&config, |_| {}).unwrap();
    assert_eq!(results.len(), reproduce::total_cells());

    let dir = std::env::temp_dir().join(format!("ember-reproduce-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    reproduce::write_outputs(&dir, &Machine::detect(), &config, &results).unwrap();

    let json = std::fs::read_to_string(dir.join("results.json")).unwrap();
    let parsed: Vec<Measurement> = serde_json::from_str(&json).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&json).unwrap();
    for record in raw.as_array().unwrap() {
        for key in ["dataset", "codec", "operation", "ns_per_row", "bytes_per_row"] {
            assert!(record.get(key).is_some(), "{key} missing in {record}");
        }
    }
    let mut codecs: Vec<&str> = parsed.iter().map(|m| m.codec.as_str()).collect();
    codecs.dedup();
    codecs.sort_unstable();
    codecs.dedup();
    for name in [
        "java",
        "kryo-registered",
        "kryo-unregistered",
        "ember-row",
        "ember-row-interpreted",
        "arrow-ipc",
        "ember-row-trusted",
    ] {
        assert!(codecs.contains(&name), "{name} missing");
    }
    for dataset in reproduce::DATASETS {
        for codec in &codecs {
            for operation in OPERATIONS {
                let m = parsed
                    .iter()
                    .find(|m| m.dataset == dataset && &m.codec == codec && m.operation == operation)
                    .unwrap_or_else(|| panic!("{dataset}/{codec}/{operation} missing"));
                assert!(m.ns_per_row.is_finite() && m.ns_per_row >= 0.0);
                assert!(m.ns_per_row_min <= m.ns_per_row && m.ns_per_row <= m.ns_per_row_max);
                assert!(m.bytes_per_row > 0.0, "{dataset}/{codec}: bytes/row");
            }
        }
    }

    let svg = std::fs::read_to_string(dir.join("chart.svg")).unwrap();
    let head = svg.trim_start();
    assert!(head.starts_with("<svg") || head.starts_with("<?xml"), "{}", &head[..40]);
    assert!(svg.trim_end().ends_with("</svg>"));
    for codec in &codecs {
        assert!(svg.contains(codec), "chart does not name {codec}");
    }

    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for section in ["## person", "## wide", "## wordcount", "## Verdict", "## Reference"] {
        assert!(report.contains(section), "report lacks {section}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn jvm_figures_parse_and_join_the_report() {
    let config = Config { rows: 30, rounds: 5, min_round: Duration::ZERO, seed: 3 };
    let mut results = reproduce::run(&config, |_| {}).unwrap();
    let stdout = "noise\nRESULT jvm-java encode 400.5 390 420 52.0\n\
                  RESULT jvm-unsaferow decode 150 140 160.25 77.3\n";
    let jvm = ember_serde_bench::jvm::parse(stdout, &config).unwrap();
    assert_eq!(jvm.len(), 2);
    assert_eq!(jvm[1].codec, "jvm-unsaferow");
    assert_eq!(jvm[1].ns_per_row_max, 160.25);
    assert!(ember_serde_bench::jvm::parse("RESULT jvm-java encode x 1 2 3", &config).is_err());
    assert!(ember_serde_bench::jvm::parse("nothing", &config).is_err());
    results.extend(jvm);
    let report = reproduce::render_report(&Machine::detect(), &config, &results);
    assert!(report.contains("| jvm-java | encode |"));
    assert!(report.contains("Ember row against Spark on the JVM in this run"));
    let svg = reproduce::render_chart(&results).unwrap();
    assert!(svg.contains("jvm-unsaferow"));
}
