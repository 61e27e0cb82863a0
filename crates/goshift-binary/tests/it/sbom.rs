//! CycloneDX documents built from parsed build info.

use goshift_binary::sbom::{SbomOptions, SpecVersion, cyclonedx};
use goshift_binary::{BuildInfo, ExecutableFormat, ModInfo};

fn document(modinfo: &str) -> serde_json::Value {
    let info = BuildInfo {
        go_version: "go1.21rc2".to_owned(),
        format: ExecutableFormat::Elf,
        modinfo: ModInfo::parse(modinfo).unwrap(),
        build_id: None,
    };
    let options = SbomOptions {
        spec: SpecVersion::V1_6,
        timestamp: "2026-01-01T00:00:00Z",
        tool: ("goshift", "0.1.0"),
        binary_sha256: &"0f".repeat(32),
        binary_name: "app",
    };
    cyclonedx(&info, &options)
}

#[test]
fn replacements_and_stdlib() {
    let bom = document(
        "path\tex.com/app\nmod\tex.com/app\tv1.0.0\t\n\
         dep\tex.com/local\tv1.0.0\n=>\t../local\t(devel)\t\n\n\
         dep\tex.com/moved\tv1.0.0\n=>\tex.com/fork\tv1.2.0\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
    );
    let components = bom["components"].as_array().unwrap();
    // A local-directory replacement keeps the module it stands in for.
    assert_eq!(components[0]["name"], "ex.com/local");
    assert_eq!(components[0]["properties"][0]["value"], "../local");
    // A module replacement is described as the replacement.
    assert_eq!(components[1]["name"], "ex.com/fork");
    assert_eq!(components[1]["version"], "v1.2.0");
    assert_eq!(
        components[1]["properties"][0]["value"],
        "ex.com/moved@v1.0.0"
    );
    // The standard library at the binary's Go version, in semver.
    assert_eq!(components[2]["purl"], "pkg:golang/stdlib@v1.21.0-rc.2");
    assert_eq!(
        bom["metadata"]["component"]["bom-ref"],
        "pkg:golang/ex.com/app@v1.0.0?type=module"
    );
    assert!(
        bom["serialNumber"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:0f0f0f0f-")
    );
}

/// GOPATH-mode builds, GOROOT's own commands and `go build file.go` have no `mod` line: the
/// SBOM describes the main package and whatever dependencies the build info lists.
#[test]
fn binaries_without_a_main_module() {
    let go = document("path\tcmd/go\nbuild\tGOOS=linux\nbuild\tGOARCH=amd64\n");
    let component = &go["metadata"]["component"];
    assert_eq!(component["name"], "cmd/go");
    assert_eq!(component["type"], "application");
    assert!(component.get("version").is_none());
    assert!(component.get("purl").is_none());
    let components = go["components"].as_array().unwrap();
    assert_eq!(components.len(), 1, "the standard library only");
    assert_eq!(components[0]["name"], "stdlib");
    assert_eq!(go["compositions"][0]["aggregate"], "unknown");
    let files = document(
        "path\tcommand-line-arguments\n\
         dep\tgolang.org/x/text\tv0.14.0\th1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
         build\tGOOS=linux\n",
    );
    assert_eq!(
        files["metadata"]["component"]["name"],
        "command-line-arguments"
    );
    let names: Vec<&str> = files["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["golang.org/x/text", "stdlib"]);
    assert_eq!(files["compositions"][0]["aggregate"], "complete");
    let dependencies = files["dependencies"][0]["dependsOn"].as_array().unwrap();
    assert_eq!(dependencies.len(), 2);
    // No path at all: the file name.
    let bare = document("build\tGOOS=linux\n");
    assert_eq!(bare["metadata"]["component"]["name"], "app");
}
