use std::os::fd::AsRawFd;
use std::path::Path;

use super::*;

fn config(text: &str) -> Config {
    Config::parse(text, Path::new("/srv")).unwrap()
}

fn sample() -> State {
    let mut state = State::new(
        4242,
        "/etc/goshift/supervisor.toml".into(),
        "SIGHUP".into(),
        "/usr/bin/goshift".into(),
    );
    state.next_generation = 7;
    state.control = Some(5);
    state.changed = vec!["web".into()];
    state.services.push(ServiceState {
        name: "api".into(),
        generation: 3,
        pid: 100,
        release: "20260101T000000Z-abc".into(),
        previous: Some("20251231T000000Z-def".into()),
        status_text: Some("serving".into()),
        restarts: 2,
        listeners: vec![
            ("http".into(), 6, None),
            ("grpc".into(), 7, Some("/run/g".into())),
        ],
        notify: Some((8, "/run/api.3.notify".into())),
        output: Some((9, 10)),
        admin: Some("127.0.0.1:9000".parse().unwrap()),
    });
    state.retired.push(RetiredState {
        name: "old".into(),
        pid: 101,
        signal: libc::SIGTERM,
        grace_ms: 5000,
        output: Some((11, 12)),
    });
    state
}

#[test]
fn a_state_round_trips_and_names_every_descriptor() {
    let state = sample();
    assert_eq!(State::decode(&state.encode(), 4242).unwrap(), state);
    assert_eq!(state.fds(), [5, 6, 7, 8, 9, 10, 11, 12]);
}

#[test]
fn a_foreign_or_stale_state_is_refused_with_the_reason() {
    let state = sample();
    let cases: [(Vec<u8>, &str); 5] = [
        (b"not json".to_vec(), "not JSON"),
        (br#"{"magic":"other","version":1}"#.to_vec(), "no `magic`"),
        (
            state.encode().replace_version(99),
            "its format version is 99, this goshift reads version 1",
        ),
        (
            br#"{"magic":"goshift-supervisor-handoff","version":1}"#.to_vec(),
            "malformed",
        ),
        (
            state.encode(),
            "written by pid 4242 for itself, and this is pid 1",
        ),
    ];
    for (bytes, expected) in cases {
        let error = State::decode(&bytes, 1).unwrap_err();
        assert!(error.contains(expected), "{expected:?} not in {error:?}");
    }
}

trait ReplaceVersion {
    fn replace_version(self, version: u32) -> Vec<u8>;
}

impl ReplaceVersion for Vec<u8> {
    fn replace_version(self, version: u32) -> Vec<u8> {
        let mut value: serde_json::Value = serde_json::from_slice(&self).unwrap();
        value["version"] = version.into();
        serde_json::to_vec(&value).unwrap()
    }
}

#[test]
fn the_state_travels_in_a_sealed_memfd_and_only_there() {
    let mut state = sample();
    state.pid = std::process::id();
    let fd = write_memfd(&state).unwrap();
    let raw = fd.as_raw_fd();
    std::mem::forget(fd);
    assert_eq!(read(&raw.to_string()).unwrap(), state);
    let error = read(&raw.to_string()).unwrap_err();
    assert!(
        error.contains("not a sealed memfd"),
        "read closes it: {error}"
    );
    let file = tempfile::tempfile().unwrap();
    let error = read(&file.as_raw_fd().to_string()).unwrap_err();
    assert!(error.contains("not a sealed memfd"), "{error}");
    assert!(read("1").unwrap_err().contains("above 2"));
    assert!(read("x").unwrap_err().contains("not a descriptor number"));
}

const BASE: &str = r#"
[services.api]
binary = "/srv/api"
listen = [{ name = "http", address = "tcp://127.0.0.1:8080" }]

[services.web]
binary = "/srv/web"
listen = [{ name = "http", address = "tcp://127.0.0.1:8081" }]
"#;

#[test]
fn reload_plans_keep_upgrade_stop_and_start() {
    let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let cases: [(&str, String, Plan); 4] = [
        (
            "same file",
            BASE.to_owned(),
            Plan {
                keep: names(&["api", "web"]),
                ..Plan::default()
            },
        ),
        (
            "web's arguments changed",
            BASE.replace(
                "binary = \"/srv/web\"",
                "binary = \"/srv/web\"\nargs = [\"-v\"]",
            ),
            Plan {
                keep: names(&["api"]),
                upgrade: names(&["web"]),
                ..Plan::default()
            },
        ),
        (
            "web removed, db added",
            BASE.replace("[services.web]", "[services.db]"),
            Plan {
                keep: names(&["api"]),
                start: names(&["db"]),
                stop: names(&["web"]),
                ..Plan::default()
            },
        ),
        (
            "api moved to another port",
            BASE.replace("8080", "8090"),
            Plan {
                keep: names(&["web"]),
                upgrade: names(&["api"]),
                ..Plan::default()
            },
        ),
    ];
    let old = config(BASE);
    for (what, text, expected) in cases {
        assert_eq!(plan(&old, &config(&text)).unwrap(), expected, "{what}");
    }
}

#[test]
fn a_reload_that_moves_the_control_socket_is_refused() {
    let moved = config(&format!("control = \"/run/other.sock\"\n{BASE}"));
    let error = plan(&config(BASE), &moved).unwrap_err();
    assert!(
        error.contains("control socket") && error.contains("restart"),
        "{error}"
    );
}

#[test]
fn only_listeners_with_the_same_name_and_address_are_handed_over() {
    let new = config(
        &BASE
            .replace("8080", "8090")
            .replace("[services.web]", "[services.db]"),
    );
    let kept = kept_listeners(&config(BASE), &new);
    assert_eq!(
        kept,
        BTreeMap::from([("api".to_owned(), Vec::<String>::new())])
    );
    let kept = kept_listeners(&config(BASE), &config(BASE));
    assert_eq!(kept["web"], ["http"]);
}

/// `/bin/sh -c SCRIPT` as the program asked for its handoff format.
fn ask_shell(script: &str, timeout_ms: u64) -> Result<(), String> {
    check_format(
        Path::new("/bin/sh"),
        &["-c".into(), script.into()],
        std::time::Duration::from_millis(timeout_ms),
    )
}

#[test]
fn a_successor_that_prints_this_format_may_take_over() {
    ask_shell(&format!("echo '{}'", format_line()), 10_000).unwrap();
}

#[test]
fn a_successor_of_another_format_or_none_is_refused_before_the_exec() {
    let other = ask_shell(&format!("echo '{MAGIC} {}'", VERSION + 1), 10_000).unwrap_err();
    assert!(
        other.contains(&format!("printed `{MAGIC} {}`", VERSION + 1))
            && other.contains("restart the supervisor instead"),
        "{other}"
    );
    // An older goshift has no such flag: it fails and prints nothing on stdout.
    let older = ask_shell("echo 'unexpected argument' >&2; exit 2", 10_000).unwrap_err();
    assert!(
        older.contains("printed nothing (exit status: 2)"),
        "{older}"
    );
    let silent = ask_shell("exec sleep 5", 100).unwrap_err();
    assert!(silent.contains("did not answer within 100 ms"), "{silent}");
}
