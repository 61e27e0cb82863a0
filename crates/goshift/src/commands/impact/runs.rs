//! `go build`, `go vet` and `go test` of the project under one toolchain.

use std::path::{Path, PathBuf};
use std::time::Instant;

use goshift_fs::fs;
use goshift_project::impact::{
    SideRuns, Step, StepOutcome, benchmarks, failing_tests, vet_findings,
};

use super::gather::go_output;
use crate::settings::GlobalSettings;

/// One side of the comparison: which toolchain, and which go.mod it reads.
pub(super) struct Side<'a> {
    /// The toolchain's name, for the report.
    pub(super) name: String,
    /// The toolchain's root.
    pub(super) root: PathBuf,
    /// `-modfile=FILE`, for the side whose `go` line is raised.
    pub(super) modfile: Option<&'a Path>,
    /// Where `go build -o` writes binaries.
    pub(super) bin_dir: PathBuf,
    /// Run the benchmarks too.
    pub(super) bench: bool,
}

/// What a side produced, with the raw `go vet` output for the loop-capture scan.
pub(super) struct SideOutput {
    /// The outcomes.
    pub(super) runs: SideRuns,
    /// Everything `go vet` printed.
    pub(super) vet_output: String,
}

/// Builds, vets and tests the module in `dir` with one toolchain.
pub(super) fn run_side(
    settings: &GlobalSettings,
    dir: &Path,
    side: &Side<'_>,
) -> anyhow::Result<SideOutput> {
    fs::create_dir_all(&side.bin_dir)?;
    let modfile: Vec<String> = side
        .modfile
        .map(|m| format!("-modfile={}", m.display()))
        .into_iter()
        .collect();
    let mut steps = Vec::new();
    let mut vet_output = String::new();
    let mut failing = Vec::new();
    let mut results = Vec::new();
    let steps_to_run: &[Step] = if side.bench {
        &[Step::Build, Step::Vet, Step::Test, Step::Bench]
    } else {
        &[Step::Build, Step::Vet, Step::Test]
    };
    for &step in steps_to_run {
        let mut args = vec![step.name().to_owned()];
        args.extend(modfile.iter().cloned());
        match step {
            // A trailing slash makes `-o` a directory for every main package.
            Step::Build => args.extend(["-o".to_owned(), format!("{}/", side.bin_dir.display())]),
            Step::Bench => {
                args.extend(["-run", "^$", "-bench", ".", "-benchmem"].map(ToOwned::to_owned));
            }
            Step::Vet | Step::Test => {}
        }
        args.push("./...".to_owned());
        settings
            .printer
            .status(format!("impact: {}: go {}", side.name, args.join(" ")));
        let started = Instant::now();
        let run = go_output(settings, &side.root, dir, &args)?;
        let seconds = started.elapsed().as_secs_f64();
        match step {
            Step::Vet => vet_output = format!("{}{}", run.stdout, run.stderr),
            Step::Test => failing = failing_tests(&format!("{}\n{}", run.stdout, run.stderr)),
            Step::Bench => results = benchmarks(&run.stdout),
            Step::Build => {}
        }
        steps.push(StepOutcome {
            step,
            passed: run.passed(),
            exit_code: run.code,
            seconds,
        });
    }
    let binary_size = fs::read_dir(&side.bin_dir).ok().and_then(|entries| {
        let sizes: Vec<u64> = entries
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.len())
            .collect();
        (!sizes.is_empty()).then(|| sizes.iter().sum())
    });
    Ok(SideOutput {
        runs: SideRuns {
            version: side.name.clone(),
            steps,
            binary_size,
            vet_findings: vet_findings(&vet_output),
            failing_tests: failing,
            benchmarks: results,
        },
        vet_output,
    })
}
