//! One command for the serialization reproduction:
//! `cargo run --release -p ember-serde-bench --bin reproduce -- --out DIR [--rows N] [--quick] [--jvm]`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use ember_serde_bench::jvm;
use ember_serde_bench::reproduce::{self, Config, Machine};
use indicatif::{ProgressBar, ProgressStyle};

/// Times every codec on every data set and operation; writes report.md, results.json and
/// chart.svg into the output folder.
#[derive(Debug, Parser)]
#[command(name = "reproduce")]
struct Args {
    /// Folder for report.md, results.json and chart.svg (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Rows per data set (default 100000, or 20000 with --quick).
    #[arg(long)]
    rows: Option<usize>,
    /// A short run: fewer rows and shorter rounds.
    #[arg(long)]
    quick: bool,
    /// Also run the real JVM serializers if `java` and Spark's jars are found.
    #[arg(long)]
    jvm: bool,
    /// Measure nothing: redraw chart.svg in the output folder from this results.json.
    #[arg(long, value_name = "RESULTS_JSON")]
    redraw: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(json) = &args.redraw {
        let text = std::fs::read_to_string(json).with_context(|| json.display().to_string())?;
        let results: Vec<reproduce::Measurement> =
            serde_json::from_str(&text).context("parsing results.json")?;
        std::fs::create_dir_all(&args.out).context("creating the output folder")?;
        let path = args.out.join("chart.svg");
        std::fs::write(&path, reproduce::render_chart(&results)?)
            .with_context(|| path.display().to_string())?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    let started = Instant::now();
    let mut config = if args.quick { Config::quick() } else { Config::full() };
    if let Some(rows) = args.rows {
        config.rows = rows;
    }
    let machine = Machine::detect();
    println!("machine: {}", machine.describe());
    println!(
        "{} rows per data set, {} rounds per figure, output in {}",
        config.rows,
        config.rounds,
        args.out.display()
    );
    let spark = if args.jvm {
        match jvm::find_spark() {
            Ok(setup) => {
                println!("--jvm: Spark jars in {}", setup.jars.display());
                Some(setup)
            }
            Err(reason) => {
                println!("--jvm: {reason}; JVM columns skipped");
                None
            }
        }
    } else {
        None
    };

    let bar = ProgressBar::new(reproduce::total_cells() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} {msg}")
            .context("progress bar template")?,
    );
    let results = reproduce::run(&config, |p| {
        bar.set_position(p.done as u64);
        bar.set_message(p.label.to_owned());
    })
    .context("measuring")?;
    bar.finish_and_clear();
    let mut results = results;
    if let Some(setup) = &spark {
        println!("running Spark's serializers on the JVM (person, {} rows)", config.rows);
        match jvm::run_jvm(setup, &config) {
            Ok(figures) => results.extend(figures),
            Err(e) => println!("--jvm: the JVM run failed ({e}); JVM columns skipped"),
        }
    }

    reproduce::write_outputs(&args.out, &machine, &config, &results).context("writing results")?;
    for m in results.iter().filter(|m| m.dataset == "person" && m.codec == "ember-row") {
        println!(
            "person/ember-row/{}: {:.1} ns/row, {}",
            m.operation,
            m.ns_per_row,
            ["java", "kryo-registered"]
                .iter()
                .map(|b| {
                    let r = reproduce::speedup(&results, "person", "ember-row", b, &m.operation);
                    format!("{:.1}x vs {b}", r.unwrap_or(f64::NAN))
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "wrote report.md, results.json, chart.svg to {} in {:.1} s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
