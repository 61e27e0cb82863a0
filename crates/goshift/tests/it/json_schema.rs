//! Every command's `--json` against its schema in `docs/json/v1/`.
//!
//! The validator covers the part of JSON Schema those files use: `type` (one or a list),
//! `enum`, `properties`, `required`, `additionalProperties: false`, `items`, `oneOf`, and the
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
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Some(format!("{at}: `{name}` is not in the schema"));
                }
                None => {}
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

/// Runs `goshift --json ARGS…` and checks stdout against `docs/json/v1/<name>.schema.json`.
fn check(test: &StoreTest, name: &str, args: &[&str]) -> Value {
    let output = test
        .command()
        .arg("--json")
        .args(args)
        .output()
        .expect("test setup");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not one JSON document ({e}):\n{stdout}"));
    if let Some(problem) = violation(&schema(name), &value, "$") {
        panic!("{args:?} breaks docs/json/v1/{name}.schema.json: {problem}\n{value:#}");
    }
    value
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
    check(&test, "list", &["list"]);
    check(&test, "install", &["install", "--no-smoke-test", "1.22.10"]);
    check(
        &test,
        "install",
        &["install", "--no-smoke-test", "1.22.10", "1.21.13"],
    );
    check(&test, "list", &["list"]);
    check(&test, "list", &["list", "--remote"]);
    check(&test, "list", &["list", "--remote", "--all"]);
    check(&test, "use", &["use", "1.21.13"]);
    check(&test, "use", &["use", "1.21.13"]);
    check(&test, "use", &["rollback"]);
    check(&test, "history", &["history"]);
    check(&test, "verify", &["verify"]);
    // A changed file is a difference, and still the same shape.
    let version_file = test.home().join("toolchains/go1.21.13/VERSION");
    let mut permissions = std::fs::metadata(&version_file)
        .expect("test setup")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    std::fs::set_permissions(&version_file, permissions).expect("test setup");
    let report = check(&test, "verify", &["verify", "1.21.13"]);
    assert_eq!(
        report[0]["differences"][0]["kind"], "mode_changed",
        "{report}"
    );
    check(&test, "current", &["current"]);
    check(&test, "which", &["which"]);
    check(&test, "home", &["home"]);
    let bin = test.context.work().join("bin");
    std::fs::create_dir_all(&bin).expect("test setup");
    let binary = goshift_testkit::gobinary::GoBinary::new(
        goshift_testkit::gobinary::Container::Elf,
        "go1.22.10",
        "path\texample.com/app\nmod\texample.com/app\tv1.0.0\t\n",
    )
    .build();
    std::fs::write(bin.join("app"), binary).expect("test setup");
    check(&test, "inspect", &["inspect", "bin/app"]);
    check(&test, "scan", &["scan", "bin"]);
    let work = test.context.work();
    std::fs::write(work.join("go.mod"), "module m\n\ngo 1.21.0\n").expect("test setup");
    check(&test, "pin", &["pin"]);
    check(&test, "pin", &["pin", "1.21.13"]);
    check(&test, "pin", &["pin"]);
    check(&test, "pin", &["pin", "--go-mod", "1.22.10"]);
    check(&test, "unpin", &["unpin"]);
    check(&test, "env", &["env"]);
    check(&test, "env", &["env", "--default-toolchain"]);
    check(&test, "each", &["each", "--installed", "--", "true"]);
    check(&test, "cache", &["cache", "dir"]);
    check(&test, "cache", &["cache", "size"]);
    check(&test, "doctor", &["doctor"]);
    check(&test, "prune", &["prune", "--keep", "1"]);
    test.ok(&["install", "--no-smoke-test", "1.21.13"]);
    check(&test, "uninstall", &["uninstall", "1.21.13"]);
    check(&test, "cache", &["cache", "clean"]);
    check(&test, "config", &["config", "list"]);
    check(&test, "config", &["config", "get", "mirror"]);
    check(&test, "audit-head", &["audit", "head"]);
    check(&test, "audit-verify", &["audit", "verify"]);
    let snapshot = test.context.root().join("box.snapshot");
    let snapshot = snapshot.to_str().expect("test setup");
    let created = check(
        &test,
        "snapshot-create",
        &["snapshot", "create", "-o", snapshot],
    );
    assert_eq!(created["default_version"], "1.22.10", "{created}");
    let policy = test.context.work().join("policy.toml");
    std::fs::write(&policy, "").expect("test setup");
    check(&test, "policy-check", &["policy", "check", "policy.toml"]);
    check(
        &test,
        "policy-explain",
        &["--policy", "policy.toml", "policy", "explain", "1.22.10"],
    );
    std::fs::write(&policy, "[[rule]]\nbogus = 1\n").expect("test setup");
    check(&test, "policy-check", &["policy", "check", "policy.toml"]);
    // A bad line in the audit log: the other shape.
    let log = test.home().join("audit.log");
    let mut records = std::fs::read_to_string(&log).expect("test setup");
    records.insert_str(0, "{\"not\": \"a record\"}\n");
    std::fs::write(&log, records).expect("test setup");
    let broken = check(&test, "audit-verify", &["audit", "verify"]);
    assert_eq!(broken["valid"], false, "{broken}");
}
