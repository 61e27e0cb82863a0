//! Every command's `--json` against its schema in `docs/json/v1/`.
//!
//! The validator covers the part of JSON Schema those files use: `type` (one or a list),
//! `enum`, `properties`, `required`, `additionalProperties` (`false` or a schema for every
//! other property), `items`, `oneOf`, and the
//! `go-version` format (`1.22.10`, `1.22`, `1.23rc1`: never with a `go` prefix).

use std::path::Path;

use serde_json::Value;

use crate::toolchain::StoreTest;

fn schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/json/v1")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_go_version(text: &str) -> bool {
    let (release, pre) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let numbers: Vec<&str> = release.split('.').collect();
    (2..=3).contains(&numbers.len())
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && (pre.is_empty()
            || ["rc", "beta"].iter().any(|kind| {
                pre.strip_prefix(kind)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }))
}

/// The first way `value` breaks `schema`, at `at`.
fn violation(schema: &Value, value: &Value, at: &str) -> Option<String> {
    if let Some(choices) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = choices
            .iter()
            .filter(|s| violation(s, value, at).is_none())
            .count();
        return (matching != 1).then(|| format!("{at}: matches {matching} of the oneOf choices"));
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let actual = type_name(value);
        let widened = actual == "integer" && allowed.contains(&"number");
        if !(allowed.contains(&actual) || widened) {
            return Some(format!("{at}: {actual}, expected {allowed:?}"));
        }
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array)
        && !choices.contains(value)
    {
        return Some(format!("{at}: {value} is not one of {choices:?}"));
    }
    if schema.get("format").and_then(Value::as_str) == Some("go-version")
        && let Some(text) = value.as_str()
        && !is_go_version(text)
    {
        return Some(format!("{at}: `{text}` is not a Go version without prefix"));
    }
    if let Value::Object(object) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Some(format!("{at}: `{name}` is missing"));
            }
        }
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(field_schema) => {
                    if let Some(problem) = violation(field_schema, field, &format!("{at}.{name}")) {
                        return Some(problem);
                    }
                }
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Some(format!("{at}: `{name}` is not in the schema"));
                    }
                    Some(other @ Value::Object(_)) => {
                        if let Some(problem) = violation(other, field, &format!("{at}.{name}")) {
                            return Some(problem);
                        }
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            if let Some(problem) = violation(item_schema, item, &format!("{at}[{index}]")) {
                return Some(problem);
            }
        }
    }
    None
}

/// Checks `stdout`, a command's whole output with `--json`, against
/// `docs/json/v1/<name>.schema.json`, and returns it parsed. For the tests of other areas,
/// whose fixtures (a supervisor, etcd, a vulnerability database) produce the output.
pub(crate) fn follows_schema(name: &str, stdout: &[u8]) -> Value {
    let stdout = String::from_utf8_lossy(stdout);
    let value: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{name}: stdout is not one JSON document ({e}):\n{stdout}"));
    if let Some(problem) = violation(&schema(name), &value, "$") {
        panic!("output breaks docs/json/v1/{name}.schema.json: {problem}\n{value:#}");
    }
    value
}

/// Runs `goshift --json ARGS…` and checks stdout against `docs/json/v1/<name>.schema.json`.
fn check(test: &StoreTest, name: &str, args: &[&str]) -> Value {
    let output = test
        .command()
        .arg("--json")
        .args(args)
        .output()
        .expect("test setup");
    follows_schema(name, &output.stdout)
}

#[test]
fn the_validator_finds_what_is_wrong() {
    let pin = schema("pin");
    let good =
        serde_json::json!({"path": "/p/.go-version", "version": "1.22.10", "previous": null});
    assert_eq!(violation(&pin, &good, "$"), None);
    let prefixed = serde_json::json!({"path": "/p", "version": "go1.22.10", "previous": null});
    assert!(violation(&pin, &prefixed, "$").is_some());
    let renamed = serde_json::json!({"file": "/p", "version": "1.22.10", "previous": null});
    assert!(violation(&pin, &renamed, "$").is_some());
    let each = schema("each");
    let wrong_type = serde_json::json!([{"version": "1.22.10", "exit_code": "0", "signal": null, "seconds": 1.5}]);
    assert!(violation(&each, &wrong_type, "$").is_some());
}

#[test]
fn every_covered_command_follows_its_schema() {
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    toolchain_commands(&test);
    project_and_inspection_commands(&test);
    import_uninstall_config_and_audit(&test);
    snapshot_policy_and_a_broken_audit_log(&test);
}

/// `list`, `install`, `use`, `rollback`, `history` and `verify`, a difference included.
fn toolchain_commands(test: &StoreTest) {
    check(test, "list", &["list"]);
    check(test, "install", &["install", "--no-smoke-test", "1.22.10"]);
    check(
        test,
        "install",
        &["install", "--no-smoke-test", "1.22.10", "1.21.13"],
    );
    check(test, "list", &["list"]);
    check(test, "list", &["list", "--remote"]);
    check(test, "list", &["list", "--remote", "--all"]);
    check(test, "use", &["use", "1.21.13"]);
    check(test, "use", &["use", "1.21.13"]);
    check(test, "use", &["rollback"]);
    check(test, "history", &["history"]);
    check(test, "verify", &["verify"]);
    // A changed file is a difference, and still the same shape.
    let version_file = test.home().join("toolchains/go1.21.13/VERSION");
    let mut permissions = std::fs::metadata(&version_file)
        .expect("test setup")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    std::fs::set_permissions(&version_file, permissions).expect("test setup");
    let report = check(test, "verify", &["verify", "1.21.13"]);
    assert_eq!(
        report[0]["differences"][0]["kind"], "mode_changed",
        "{report}"
    );
}

/// `current`, `which`, `home`, `inspect`, `scan`, `pin`, `env`, `each`, `cache`, `doctor` and `prune`.
fn project_and_inspection_commands(test: &StoreTest) {
    check(test, "current", &["current"]);
    check(test, "which", &["which"]);
    check(test, "home", &["home"]);
    let bin = test.context.work().join("bin");
    std::fs::create_dir_all(&bin).expect("test setup");
    let binary = goshift_testkit::gobinary::GoBinary::new(
        goshift_testkit::gobinary::Container::Elf,
        "go1.22.10",
        "path\texample.com/app\nmod\texample.com/app\tv1.0.0\t\n",
    )
    .build();
    std::fs::write(bin.join("app"), binary).expect("test setup");
    check(test, "inspect", &["inspect", "bin/app"]);
    check(test, "scan", &["scan", "bin"]);
    let work = test.context.work();
    std::fs::write(work.join("go.mod"), "module m\n\ngo 1.21.0\n").expect("test setup");
    check(test, "pin", &["pin"]);
    check(test, "pin", &["pin", "1.21.13"]);
    check(test, "pin", &["pin"]);
    check(test, "pin", &["pin", "--go-mod", "1.22.10"]);
    check(test, "unpin", &["unpin"]);
    check(test, "env", &["env"]);
    check(test, "env", &["env", "--default-toolchain"]);
    check(test, "each", &["each", "--installed", "--", "true"]);
    check(test, "cache", &["cache", "dir"]);
    check(test, "cache", &["cache", "size"]);
    check(test, "doctor", &["doctor"]);
    check(test, "prune", &["prune", "--keep", "1"]);
}

/// `import`, `uninstall`, `cache clean`, `config` and the audit log's `head` and `verify`.
fn import_uninstall_config_and_audit(test: &StoreTest) {
    let goroot = test.context.root().join("distro/go");
    crate::toolchain::unpack_fake(&goshift_testkit::archive::fake_go("1.19.8"), &goroot);
    let imported = check(
        test,
        "import",
        &["import", goroot.to_str().expect("test setup")],
    );
    assert_eq!(imported["version"], "1.19.8", "{imported}");
    test.ok(&["install", "--no-smoke-test", "1.21.13"]);
    check(test, "uninstall", &["uninstall", "1.21.13"]);
    check(test, "cache", &["cache", "clean"]);
    check(test, "config", &["config", "list"]);
    check(test, "config", &["config", "get", "mirror"]);
    check(test, "audit-head", &["audit", "head"]);
    check(test, "audit-verify", &["audit", "verify"]);
}

/// `snapshot create`, `policy check` and `explain`, and `audit verify` of a log with a bad line.
fn snapshot_policy_and_a_broken_audit_log(test: &StoreTest) {
    let snapshot = test.context.root().join("box.snapshot");
    let snapshot = snapshot.to_str().expect("test setup");
    let created = check(
        test,
        "snapshot-create",
        &["snapshot", "create", "-o", snapshot],
    );
    assert_eq!(created["default_version"], "1.22.10", "{created}");
    let policy = test.context.work().join("policy.toml");
    std::fs::write(&policy, "").expect("test setup");
    check(test, "policy-check", &["policy", "check", "policy.toml"]);
    check(
        test,
        "policy-explain",
        &["--policy", "policy.toml", "policy", "explain", "1.22.10"],
    );
    std::fs::write(&policy, "[[rule]]\nbogus = 1\n").expect("test setup");
    check(test, "policy-check", &["policy", "check", "policy.toml"]);
    // A bad line in the audit log: the other shape.
    let log = test.home().join("audit.log");
    let mut records = std::fs::read_to_string(&log).expect("test setup");
    records.insert_str(0, "{\"not\": \"a record\"}\n");
    std::fs::write(&log, records).expect("test setup");
    let broken = check(test, "audit-verify", &["audit", "verify"]);
    assert_eq!(broken["valid"], false, "{broken}");
}

/// What a command does with `--json`.
enum Json {
    /// Prints one document that follows `docs/json/v1/<name>.schema.json`.
    Schema(&'static str),
    /// Refuses it (exit 2); the arguments run it that way.
    Refused(&'static [&'static str]),
}

/// Schemas of a mode of a command whose plain form refuses `--json` (`supervise` runs until
/// stopped; `supervise --reload` reports a reload): `(mode, schema)`. Validated by the test
/// that runs the mode.
const MODE_SCHEMAS: [(&str, &str); 1] = [("supervise --reload", "supervise-reload")];

/// Every command `goshift help` lists (subcommands after a space), and what it does with
/// `--json`. A new command fails `every_command_has_a_schema_or_refuses_json` until it is here.
const COMMANDS: &[(&str, Json)] = &[
    ("list", Json::Schema("list")),
    ("install", Json::Schema("install")),
    ("use", Json::Schema("use")),
    ("history", Json::Schema("history")),
    ("rollback", Json::Schema("use")),
    ("uninstall", Json::Schema("uninstall")),
    ("prune", Json::Schema("prune")),
    ("import", Json::Schema("import")),
    ("verify", Json::Schema("verify")),
    ("home", Json::Schema("home")),
    ("cache dir", Json::Schema("cache")),
    ("cache size", Json::Schema("cache")),
    ("cache clean", Json::Schema("cache")),
    ("env", Json::Schema("env")),
    ("which", Json::Schema("which")),
    ("current", Json::Schema("current")),
    ("pin", Json::Schema("pin")),
    ("unpin", Json::Schema("unpin")),
    ("init", Json::Refused(&["init", "bash"])),
    ("completions", Json::Refused(&["completions", "bash"])),
    ("exec", Json::Refused(&["exec", "1.22", "--", "true"])),
    ("each", Json::Schema("each")),
    ("doctor", Json::Schema("doctor")),
    ("config get", Json::Schema("config")),
    (
        "config set",
        Json::Refused(&["config", "set", "auto_install", "true"]),
    ),
    (
        "config unset",
        Json::Refused(&["config", "unset", "auto_install"]),
    ),
    ("config list", Json::Schema("config")),
    ("mod", Json::Schema("mod")),
    ("supervise", Json::Refused(&["supervise"])),
    ("svc status", Json::Schema("svc-status")),
    ("svc upgrade", Json::Schema("svc-upgrade")),
    ("svc rollback", Json::Schema("svc-upgrade")),
    ("svc stop", Json::Refused(&["svc", "stop"])),
    ("svc logs", Json::Schema("svc-logs")),
    ("svc incidents", Json::Schema("svc-incidents")),
    ("svc incident", Json::Schema("svc-incident")),
    ("policy check", Json::Schema("policy-check")),
    ("policy show", Json::Schema("policy-show")),
    ("policy explain", Json::Schema("policy-explain")),
    ("audit log", Json::Schema("audit-log")),
    ("audit verify", Json::Schema("audit-verify")),
    ("audit head", Json::Schema("audit-head")),
    ("audit repair", Json::Refused(&["audit", "repair"])),
    ("audit export", Json::Refused(&["audit", "export"])),
    ("gate", Json::Schema("gate")),
    ("snapshot create", Json::Schema("snapshot-create")),
    (
        "snapshot restore",
        Json::Refused(&["snapshot", "restore", "box.snapshot"]),
    ),
    ("inspect", Json::Schema("inspect")),
    ("scan", Json::Schema("scan")),
    ("vuln sync", Json::Schema("vuln-sync")),
    ("vuln check", Json::Schema("vuln-check")),
    ("sbom", Json::Schema("sbom")),
    ("impact", Json::Schema("impact")),
    ("agent", Json::Refused(&["agent"])),
    ("fleet status", Json::Schema("fleet-status")),
    ("fleet set toolchain", Json::Schema("fleet-set")),
    ("fleet rollout", Json::Schema("fleet-rollout")),
    ("fleet pause", Json::Schema("fleet-rollout")),
    ("fleet resume", Json::Schema("fleet-rollout")),
    ("fleet abort", Json::Schema("fleet-rollout")),
    ("fleet history", Json::Schema("fleet-history")),
];

/// The commands below `path` that have no subcommands, from the `Commands:` section of each
/// help page.
fn leaf_commands(test: &StoreTest, path: &[&str], found: &mut Vec<String>) {
    let help = test.ok(&[path, &["--help"]].concat()).stdout;
    let names: Vec<&str> = help
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    if names.is_empty() {
        found.push(path.join(" "));
    }
    for name in names {
        leaf_commands(test, &[path, &[name]].concat(), found);
    }
}

/// The test sources, without whitespace, to find which schemas a test validates.
fn test_sources() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).expect("test setup") {
        let path = entry.expect("test setup").path();
        if path.extension().is_some_and(|e| e == "rs") {
            text.push_str(&std::fs::read_to_string(&path).expect("test setup"));
        }
    }
    text.split_whitespace().collect()
}

#[test]
fn every_command_has_a_schema_or_refuses_json() {
    let test = StoreTest::new(&[]);
    let mut listed = Vec::new();
    leaf_commands(&test, &[], &mut listed);
    listed.sort();
    let mut known: Vec<String> = COMMANDS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    known.sort();
    assert_eq!(
        listed, known,
        "every command `goshift help` lists needs a line in COMMANDS: a schema in docs/json/v1/ \
         and a test that validates its output, or `Json::Refused`"
    );
    let sources = test_sources();
    let schemas: std::collections::BTreeSet<&str> = COMMANDS
        .iter()
        .filter_map(|(_, json)| match json {
            Json::Schema(name) => Some(*name),
            Json::Refused(_) => None,
        })
        .chain(MODE_SCHEMAS.iter().map(|(_, name)| *name))
        .collect();
    for name in &schemas {
        schema(name);
        let validated = [
            format!("check(&test,\"{name}\""),
            format!("check(test,\"{name}\""),
            format!("follows_schema(\"{name}\""),
        ];
        assert!(
            validated.iter().any(|call| sources.contains(call.as_str())),
            "no test validates output against docs/json/v1/{name}.schema.json"
        );
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/json/v1");
    for entry in std::fs::read_dir(&dir).expect("test setup") {
        let file = entry.expect("test setup").file_name();
        let file = file.to_string_lossy();
        let name = file.strip_suffix(".schema.json").unwrap_or(&file);
        assert!(
            schemas.contains(name),
            "docs/json/v1/{file} belongs to no command"
        );
    }
    for (name, json) in COMMANDS {
        if let Json::Refused(args) = json {
            let run = test.run(&[&["--json"], *args].concat());
            assert_eq!(run.code, Some(2), "`goshift --json {name}`: {run:?}");
            assert!(
                run.stderr
                    .contains(&format!("`goshift {name}` has no JSON output")),
                "`goshift --json {name}`: {}",
                run.stderr
            );
            assert!(
                run.stdout.is_empty(),
                "`goshift --json {name}`: {}",
                run.stdout
            );
        }
    }
}
