//! `goshift sbom FILE [--spec 1.5|1.6] [-o OUT]`.

use std::fmt::Write as _;
use std::io::Read as _;
use std::time::SystemTime;

use anyhow::Context as _;
use goshift_binary::sbom::{SbomOptions, SpecVersion};
use goshift_fs::fs;
use sha2::{Digest as _, Sha256};

use crate::cli::SbomArgs;
use crate::error::WithHint as _;
use crate::exit::ExitStatus;
use crate::settings::GlobalSettings;

/// Writes a CycloneDX document for one binary.
pub(crate) fn sbom(settings: &GlobalSettings, args: SbomArgs) -> anyhow::Result<ExitStatus> {
    let SbomArgs { file, spec, output } = args;
    let spec = SpecVersion::parse(&spec)
        .with_context(|| format!("unsupported CycloneDX version `{spec}`"))
        .hint("use `--spec 1.5` or `--spec 1.6`")?;
    let info = goshift_binary::read_build_info(&file)
        .with_context(|| format!("failed to read build information from `{}`", file.display()))?;
    let sha256 = hash_file(&file)?;
    let timestamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let options = SbomOptions {
        spec,
        timestamp: &timestamp,
        tool: ("goshift", env!("CARGO_PKG_VERSION")),
        binary_sha256: &sha256,
        binary_name: &name,
    };
    let document = goshift_binary::sbom::cyclonedx(&info, &options);
    let text = serde_json::to_string_pretty(&document)?;
    match output {
        Some(path) => {
            goshift_fs::write_atomic(&path, format!("{text}\n").as_bytes())
                .with_context(|| format!("failed to write `{}`", path.display()))?;
            settings.printer.status(format!(
                "Wrote a CycloneDX {} SBOM with {} components to {}",
                match spec {
                    SpecVersion::V1_5 => "1.5",
                    SpecVersion::V1_6 => "1.6",
                },
                document["components"].as_array().map_or(0, Vec::len),
                path.display()
            ));
        }
        None => settings.printer.data(text),
    }
    Ok(ExitStatus::Success)
}

fn hash_file(path: &std::path::Path) -> anyhow::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    }))
}
