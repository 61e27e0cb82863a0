//! `goshift fleet` and `goshift agent` against a real etcd on loopback.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use goshift_testkit::etcd::{EtcdServer, free_port};
use goshift_testkit::service::service_variant;

use crate::toolchain::{StoreTest, names};
use crate::toolchain_crash::kill_at;
use crate::{audit_actions, audit_outcomes, audit_records};

const POLICY: &str = r#"[[blocked]]
versions = "1.21.13"
reason = "known bad in this test"
"#;

/// A host: a sandbox with a mirror of fake toolchains and a policy.
fn host() -> StoreTest {
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    std::fs::write(test.home().join("policy.toml"), POLICY).unwrap();
    test
}

fn fleet(test: &StoreTest, etcd: &EtcdServer, args: &[&str]) -> crate::toolchain::Run {
    let mut all = vec!["--etcd", etcd.url()];
    all.extend_from_slice(args);
    let output = test.command().arg("fleet").args(&all).output().unwrap();
    test.finish(&output)
}

/// An agent process, stopped with SIGTERM on drop.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let pid = libc::pid_t::try_from(self.0.id()).unwrap();
        // SAFETY: `pid` is our own child, not yet reaped.
        #[expect(unsafe_code, reason = "stopping the child agent with SIGTERM")]
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

fn agent(test: &StoreTest, etcd: &EtcdServer, name: &str) -> Agent {
    let child = test
        .command()
        .args([
            "agent",
            "--etcd",
            etcd.url(),
            "--env",
            "prod",
            "--host",
            name,
            "--labels",
            "rack=r1",
            "--lease-ttl",
            "3s",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Agent(child)
}

/// `goshift fleet set toolchain VERSION --env prod --reason REASON EXTRA…`.
fn set_toolchain(
    test: &StoreTest,
    etcd: &EtcdServer,
    version: &str,
    reason: &str,
    extra: &[&str],
) -> crate::toolchain::Run {
    let mut args = vec![
        "set",
        "toolchain",
        version,
        "--env",
        "prod",
        "--reason",
        reason,
    ];
    args.extend_from_slice(extra);
    args.push("--json");
    let run = fleet(test, etcd, &args);
    if run.code == Some(0) {
        crate::json_schema::follows_schema("fleet-set", run.stdout.as_bytes());
    }
    run
}

fn board(test: &StoreTest, etcd: &EtcdServer) -> serde_json::Value {
    let run = fleet(test, etcd, &["status", "--json"]);
    assert!(run.code == Some(0) || run.code == Some(1), "{run:?}");
    crate::json_schema::follows_schema("fleet-status", run.stdout.as_bytes())
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    // A bound against a hang, not a timing check: a loaded machine may be slow.
    let deadline = Instant::now() + Duration::from_mins(3);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_toolchain_change_converges_on_every_host_with_audit_records_to_prove_it() {
    let Some(etcd) = EtcdServer::start("fleet_toolchain_converges") else {
        return;
    };
    let operator = host();
    let hosts = [host(), host()];
    let _agents: Vec<Agent> = hosts
        .iter()
        .enumerate()
        .map(|(i, test)| agent(test, &etcd, &format!("h{i}")))
        .collect();
    wait_for("both agents to report", || {
        board(&operator, &etcd)["hosts"]
            .as_array()
            .is_some_and(|h| h.len() == 2)
    });

    let run = set_toolchain(&operator, &etcd, "1.22.10", "upgrade go", &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    wait_for("every host on go1.22.10 without drift", || {
        let board = board(&operator, &etcd);
        board["hosts"].as_array().unwrap().iter().all(|h| {
            h["default_toolchain"] == "1.22.10"
                && h["drift"].as_array().unwrap().is_empty()
                && h["alive"] == true
        })
    });
    assert_the_change_is_audited(&operator, &etcd, &hosts);
    tampered_chains_show_on_the_board(&operator, &etcd, &hosts);
}

/// Each host's audit log has the agent's `use` with the operator's reason, the operator's has
/// the change written ahead, etcd its copy, and the board each host's intact audit head.
fn assert_the_change_is_audited(operator: &StoreTest, etcd: &EtcdServer, hosts: &[StoreTest]) {
    for test in hosts {
        // The first install also made it the default (its own `use` record); the agent's
        // `use` follows with the operator's reason.
        let records = audit_outcomes(&test.home());
        assert_eq!(
            audit_actions(&records),
            [
                ("install", "success"),
                ("use", "success"),
                ("use", "success")
            ]
        );
        assert!(
            records[2]["reason"]
                .as_str()
                .unwrap()
                .contains("upgrade go"),
            "{records:?}"
        );
    }
    // The operator's change is in their audit log, written ahead, and in etcd.
    let records = audit_records(&operator.home());
    assert_eq!(
        audit_actions(&records),
        [
            ("fleet.set-toolchain", "intent"),
            ("fleet.set-toolchain", "success")
        ]
    );
    assert_eq!(mirrored_audit(etcd).len(), 1);
    // The board shows each host's audit head, intact.
    let board_now = board(operator, etcd);
    let head = audit_records(&hosts[0].home()).last().unwrap()["seq"].clone();
    for h in board_now["hosts"].as_array().unwrap() {
        assert_eq!(h["audit"]["intact"], true, "{h}");
        assert_eq!(h["audit"]["seq"], head, "{h}");
        assert_eq!(h["labels"]["rack"], "r1");
    }
}

/// A host whose chain is tampered with shows on the board.
fn tampered_chains_show_on_the_board(operator: &StoreTest, etcd: &EtcdServer, hosts: &[StoreTest]) {
    // A host whose chain is tampered with shows on the board: h0's log edited in the
    // middle, h1's last records cut off (what is left still verifies on its own, but not
    // against the head h1's agent reported).
    let log = hosts[0].home().join("audit.log");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replacen("upgrade go", "upgrade Go", 1)).unwrap();
    let log = hosts[1].home().join("audit.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&log, format!("{}\n", kept.join("\n"))).unwrap();
    // A change of the desired state wakes the agents.
    let run = set_toolchain(operator, etcd, "1.22.10", "look again", &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    wait_for("both tampered hosts to show on the board", || {
        let board = board(operator, etcd);
        board["hosts"].as_array().unwrap().iter().all(|h| {
            h["audit"]["intact"] == false
                && h["drift"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d == "the local audit log does not verify")
        })
    });
}

#[test]
fn a_toolchain_the_policy_blocks_in_the_environment_or_the_index_lacks_is_refused() {
    let Some(etcd) = EtcdServer::start("fleet_toolchain_refused") else {
        return;
    };
    let operator = host();
    // Blocked by the policy in this environment: refused, nothing written.
    let run = set_toolchain(&operator, &etcd, "1.21.13", "try", &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("refuses `fleet.set-toolchain prod`"),
        "{}",
        run.stderr
    );
    assert!(board(&operator, &etcd)["environments"]["prod"].is_null());
    let records = audit_records(&operator.home());
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["outcome"], "refused");

    // Unknown to the index: refused.
    let run = set_toolchain(&operator, &etcd, "1.99.0", "try", &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("go1.99.0 cannot be installed"),
        "{}",
        run.stderr
    );
}

#[test]
fn two_operators_racing_on_the_same_key_the_second_gets_a_conflict() {
    let Some(etcd) = EtcdServer::start("fleet_operators_race") else {
        return;
    };
    let operator = host();
    // Both read the key at the same revision (absent: 0); the first to write wins.
    let run = set_toolchain(&operator, &etcd, "1.22.10", "first", &["--revision", "0"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = set_toolchain(&operator, &etcd, "1.22.10", "second", &["--revision", "0"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("`/goshift/env/prod/toolchain` was changed by"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("after you read it at revision 0"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("hint: read the new value with `goshift fleet status`"),
        "{}",
        run.stderr
    );
    let board = board(&operator, &etcd);
    assert_eq!(
        board["environments"]["prod"]["toolchain"]["stamp"]["reason"],
        "first"
    );
    // The loser's change is in its audit log as a failure naming the conflict, and only the
    // winner's is mirrored in etcd.
    let records = audit_outcomes(&operator.home());
    assert_eq!(
        audit_actions(&records),
        [
            ("fleet.set-toolchain", "success"),
            ("fleet.set-toolchain", "failure")
        ]
    );
    let error = records[1]["details"]["error"].as_str().unwrap();
    assert!(error.contains("was changed by"), "{error}");
    assert_eq!(mirrored_audit(&etcd).len(), 1);
}

/// The copies of operators' audit records under `/goshift/audit/`, decoded.
fn mirrored_audit(etcd: &EtcdServer) -> Vec<serde_json::Value> {
    use base64::Engine as _;
    let range = etcd
        .post(
            "/v3/kv/range",
            r#"{"key":"L2dvc2hpZnQvYXVkaXQv","range_end":"L2dvc2hpZnQvYXVkaXQw"}"#,
        )
        .unwrap();
    // The gateway may answer in chunks: the JSON is from the first `{` to the last `}`.
    let json = &range[range.find('{').unwrap()..=range.rfind('}').unwrap()];
    let range: serde_json::Value = serde_json::from_str(json).unwrap();
    range["kvs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|kv| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(kv["value"].as_str().unwrap())
                .unwrap();
            serde_json::from_slice(&bytes).unwrap()
        })
        .collect()
}

#[test]
fn a_fleet_change_is_written_ahead_and_an_interrupted_one_is_reconciled_from_etcd() {
    let Some(etcd) = EtcdServer::start("fleet_intents") else {
        return;
    };
    let operator = host();
    let url = etcd.url();
    let set = |reason: &'static str| {
        [
            "fleet",
            "--etcd",
            url,
            "set",
            "toolchain",
            "1.22.10",
            "--env",
            "prod",
            "--reason",
            reason,
        ]
    };
    // Killed after its intent, before the transaction: etcd holds nothing.
    kill_at(&operator, "intent-recorded", &set("killed early"));
    assert!(board(&operator, &etcd)["environments"]["prod"].is_null());
    // Killed after the transaction, before its outcome: the change is in etcd, and so is
    // the copy of its intent, written in the same transaction.
    kill_at(&operator, "fleet-written", &set("killed late"));
    let board_now = board(&operator, &etcd);
    assert_eq!(
        board_now["environments"]["prod"]["toolchain"]["stamp"]["reason"],
        "killed late"
    );
    let mirrored = mirrored_audit(&etcd);
    assert_eq!(mirrored.len(), 1, "{mirrored:?}");
    assert_eq!(mirrored[0]["intent"]["reason"], "killed late");
    assert_eq!(mirrored[0]["intent"]["outcome"], "intent");
    assert!(mirrored[0]["outcome"].is_null(), "{mirrored:?}");

    // An open fleet intent of a dead process fails `audit verify` until a fleet change
    // reconciles it, as it finds etcd.
    assert_eq!(operator.run(&["audit", "verify"]).code, Some(1));
    let run = operator.run(&set("again"));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stderr.contains("ended before its outcome was recorded"),
        "{}",
        run.stderr
    );
    let records = audit_outcomes(&operator.home());
    assert_eq!(
        audit_actions(&records),
        [
            ("fleet.set-toolchain", "failure"),
            ("fleet.set-toolchain", "success"),
            ("fleet.set-toolchain", "success")
        ]
    );
    assert_eq!(records[0]["reason"], "killed early");
    assert_eq!(records[0]["details"]["reconciled"], true);
    assert_eq!(records[0]["details"]["found"]["in_etcd"], false);
    assert_eq!(records[1]["reason"], "killed late");
    assert_eq!(records[1]["details"]["reconciled"], true);
    assert_eq!(records[1]["details"]["found"]["in_etcd"], true);
    assert_eq!(records[2]["reason"], "again");
    assert_eq!(operator.run(&["audit", "verify"]).code, Some(0));
    // The completed change's copy in etcd carries its outcome too.
    let mirrored = mirrored_audit(&etcd);
    assert_eq!(mirrored.len(), 2, "{mirrored:?}");
    let again = mirrored
        .iter()
        .find(|m| m["intent"]["reason"] == "again")
        .unwrap();
    assert_eq!(again["outcome"]["outcome"], "success", "{again}");
    assert_eq!(
        again["outcome"]["details"]["intent"],
        again["intent"]["seq"]
    );
}

#[test]
fn fleet_commands_fail_within_a_bounded_time_when_etcd_is_unreachable() {
    let operator = host();
    let url = format!("http://127.0.0.1:{}", free_port());
    let output = operator
        .command()
        .args(["fleet", "status", "--etcd", &url])
        .output()
        .unwrap();
    let run = operator.finish(&output);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("etcd is unreachable at"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: check that etcd runs"),
        "{}",
        run.stderr
    );
    let run = operator.run(&["fleet", "status"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("no etcd endpoint is configured"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_value_written_into_etcd_by_hand_that_does_not_parse_is_reported_on_the_board() {
    let Some(etcd) = EtcdServer::start("fleet_bad_value") else {
        return;
    };
    let operator = host();
    // `/goshift/env/prod/toolchain` = `{"version": 1.22}`
    etcd.post(
        "/v3/kv/put",
        r#"{"key":"L2dvc2hpZnQvZW52L3Byb2QvdG9vbGNoYWlu","value":"eyJ2ZXJzaW9uIjogMS4yMn0="}"#,
    )
    .unwrap();
    let run = fleet(&operator, &etcd, &["status"]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("warning: invalid value in etcd: /goshift/env/prod/toolchain:"),
        "{}",
        run.stderr
    );
    // A change based on it is refused with the key named, nothing written.
    let run = set_toolchain(&operator, &etcd, "1.22.10", "fix", &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("the value of `/goshift/env/prod/toolchain` in etcd is not valid"),
        "{}",
        run.stderr
    );
}

/// A supervisor running v1 of the test service in `test`'s home, killed on drop.
struct Supervisor(Child);

impl Drop for Supervisor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn supervise(test: &StoreTest) -> Supervisor {
    let work = test.context.work();
    let v1 = service_variant(&work, "v1", None);
    std::fs::write(
        work.join("supervisor.toml"),
        format!(
            "[services.api]\nbinary = \"{}\"\nlisten = [{{ name = \"http\", address = \"tcp://127.0.0.1:{}\" }}]\nready = {{ notify = true, timeout = \"5s\" }}\nstop = {{ grace = \"2s\" }}\n",
            v1.display(),
            free_port()
        ),
    )
    .unwrap();
    let child = test
        .command()
        .args(["supervise", "--config", "supervisor.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let supervisor = Supervisor(child);
    wait_for("the supervisor to run v1", || {
        let run = test.run(&["svc", "status", "--json"]);
        run.code == Some(0) && run.stdout.contains("\"readiness\": \"ready\"")
    });
    supervisor
}

fn sha256_of(path: &std::path::Path) -> String {
    goshift_testkit::mirror::sha256_hex(&std::fs::read(path).unwrap())
}

#[test]
fn a_rollout_refused_for_a_wrong_hash_stages_nothing_and_a_good_one_upgrades_through_the_supervisor()
 {
    let Some(etcd) = EtcdServer::start("fleet_rollout_hash") else {
        return;
    };
    let operator = host();
    let node = host();
    let _supervisor = supervise(&node);
    let _agent = agent(&node, &etcd, "h1");
    wait_for("the agent to report its service", || {
        board(&operator, &etcd)["hosts"][0]["services"][0]["healthy"] == true
    });
    let v2 = service_variant(&operator.context.work(), "v2", None);
    let rollout = |sha256: &str, reason: &str| roll_out(&operator, &etcd, &v2, sha256, reason);
    let releases = |test: &StoreTest| names(&test.home().join("services/api/releases"));
    let before = releases(&node);

    let run = rollout(&"0".repeat(64), "wrong hash");
    assert_eq!(run.code, Some(0), "{run:?}");
    wait_for_rollout(&operator, &etcd, "failed");
    let board_now = board(&operator, &etcd);
    let rollout_board = &board_now["environments"]["prod"]["rollouts"][0];
    let reason = rollout_board["rollout"]["state_reason"].as_str().unwrap();
    assert!(reason.starts_with("h1: refused:"), "{reason}");
    assert!(reason.contains("but the rollout says 0000"), "{reason}");
    assert_eq!(rollout_board["hosts"]["h1"]["state"], "refused");
    assert_eq!(releases(&node), before, "something was staged");
    // The host reports its failed change at the end of the pass that failed the rollout.
    wait_for("h1 to report its failed change", || {
        board(&operator, &etcd)["hosts"][0]["last_change"]["result"] == "failure"
    });

    let run = rollout(&sha256_of(&v2), "release v2");
    assert_eq!(run.code, Some(0), "{run:?}");
    wait_for_rollout(&operator, &etcd, "completed");
    assert_eq!(releases(&node).len(), before.len() + 1);
    let records = audit_outcomes(&node.home());
    let upgrade = records
        .iter()
        .find(|r| r["action"] == "svc.upgrade")
        .expect("the upgrade is in the host's audit log");
    assert_eq!(upgrade["outcome"], "success");
    assert!(
        upgrade["reason"].as_str().unwrap().contains("release v2"),
        "{upgrade}"
    );
    assert_eq!(history_states(&operator, &etcd), ["failed", "completed"]);
}

/// `fleet rollout api file://BINARY --sha256 SHA256 --env prod --canary 1 --min-healthy 0s`.
fn roll_out(
    operator: &StoreTest,
    etcd: &EtcdServer,
    binary: &std::path::Path,
    sha256: &str,
    reason: &str,
) -> crate::toolchain::Run {
    let url = format!("file://{}", binary.display());
    let args = [
        "rollout",
        "api",
        &url,
        "--sha256",
        sha256,
        "--env",
        "prod",
        "--canary",
        "1",
        "--min-healthy",
        "0s",
        "--reason",
        reason,
        "--json",
    ];
    let run = fleet(operator, etcd, &args);
    if run.code == Some(0) {
        crate::json_schema::follows_schema("fleet-rollout", run.stdout.as_bytes());
    }
    run
}

/// Waits until the rollout of `api` in `prod` is in `state`.
fn wait_for_rollout(operator: &StoreTest, etcd: &EtcdServer, state: &str) {
    wait_for(&format!("the rollout to be {state}"), || {
        board(operator, etcd)["environments"]["prod"]["rollouts"][0]["rollout"]["state"] == state
    });
}

/// The states of `api`'s rollouts in `prod`, oldest first, from `fleet history`.
fn history_states(operator: &StoreTest, etcd: &EtcdServer) -> Vec<String> {
    let args = ["history", "api", "--env", "prod", "--json"];
    let history = fleet(operator, etcd, &args);
    let history = crate::json_schema::follows_schema("fleet-history", history.stdout.as_bytes());
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap().to_owned())
        .collect()
}

/// A policy whose `prod` lets only `may_change` change it.
fn restrict_prod(test: &StoreTest, may_change: &str) {
    std::fs::write(
        test.home().join("policy.toml"),
        format!("{POLICY}\n[environments.prod]\nmay_change = {may_change}\n"),
    )
    .unwrap();
}

/// `["group:G"]` for the first group of this process.
fn my_group() -> String {
    let groups = goshift_audit::groups_from_os();
    format!(
        "[\"group:{}\"]",
        groups.first().expect("this process has a group")
    )
}

#[test]
fn local_changes_to_an_environment_are_refused_to_whom_its_policy_does_not_name() {
    let test = host();
    restrict_prod(&test, r#"["someone-else", "group:no-such-group"]"#);
    for args in [
        &["install", "1.22.10", "--env", "prod"][..],
        &[
            "install", "1.22.10", "--env", "prod", "--force", "--reason", "urgent",
        ],
    ] {
        let run = test.run(args);
        assert_eq!(run.code, Some(2), "{run:?}");
        let user = goshift_audit::Actor::from_os().user;
        for expected in [
            format!("`{user}` may not change environment `prod`: the policy"),
            "lets only someone-else, group:no-such-group change it".to_owned(),
            "hint: ask one of them".to_owned(),
        ] {
            assert!(run.stderr.contains(&expected), "{expected}: {}", run.stderr);
        }
    }
    assert!(test.names("toolchains").is_empty());
    let records = audit_records(&test.home());
    assert_eq!(
        audit_actions(&records),
        [("install", "refused"), ("install", "refused")]
    );
    assert_eq!(
        records[0]["details"]["policy"]["may_change"]["users"][0],
        "someone-else"
    );
    // Another environment names nobody: anyone may change it.
    test.ok(&["install", "1.22.10", "--env", "dev"]);
    // Named by a group: allowed, and the record says by which entry.
    restrict_prod(&test, &my_group());
    test.ok(&[
        "install", "1.21.13", "--env", "prod", "--force", "--reason", "x",
    ]);
    let records = audit_outcomes(&test.home());
    let last = records.last().unwrap();
    assert!(
        last["details"]["policy"]["permitted_by"]
            .as_str()
            .unwrap()
            .starts_with("group:"),
        "{last}"
    );
}

#[test]
fn fleet_changes_to_an_environment_are_refused_to_whom_its_policy_does_not_name() {
    let Some(etcd) = EtcdServer::start("fleet_may_change") else {
        return;
    };
    let operator = host();
    restrict_prod(&operator, r#"["someone-else"]"#);
    let run = set_toolchain(&operator, &etcd, "1.22.10", "upgrade", &[]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("may not change environment `prod`")
            && run.stderr.contains("(refused `fleet.set-toolchain prod`)"),
        "{}",
        run.stderr
    );
    let run = fleet(
        &operator,
        &etcd,
        &["pause", "api", "--env", "prod", "--reason", "stop"],
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("may not change environment `prod`"),
        "{}",
        run.stderr
    );
    assert!(board(&operator, &etcd)["environments"]["prod"].is_null());
    assert_eq!(
        audit_actions(&audit_records(&operator.home())),
        [
            ("fleet.set-toolchain", "refused"),
            ("fleet.pause", "refused")
        ]
    );
    restrict_prod(
        &operator,
        &format!("[\"{}\"]", goshift_audit::Actor::from_os().user),
    );
    let run = set_toolchain(&operator, &etcd, "1.22.10", "upgrade", &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
}
