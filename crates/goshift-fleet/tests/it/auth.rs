//! The etcd roles `docs/fleet.md` tells administrators to create, run from the page itself
//! against a real etcd with authentication on.

use std::path::Path;
use std::process::Command;

use goshift_fleet::{Etcd, EtcdOptions};
use goshift_testkit::etcd::program_or_skip;

use crate::server::EtcdServer;

/// The `etcdctl` lines of the code block under "etcd's authentication" in `docs/fleet.md`,
/// each split into its arguments (quotes removed), `"$NAME_PASSWORD"` replaced by `NAME`
/// in lower case.
fn documented_commands(doc: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(doc).unwrap();
    let section = &text[text.find("## etcd's authentication").unwrap()..];
    let block = section.split("```").nth(1).unwrap();
    block
        .lines()
        .filter_map(|line| line.strip_prefix("etcdctl "))
        .map(|line| {
            line.split_whitespace()
                .map(|word| {
                    let word = word.trim_matches('"');
                    match word
                        .strip_prefix('$')
                        .and_then(|w| w.strip_suffix("_PASSWORD"))
                    {
                        Some(name) => name.to_ascii_lowercase(),
                        None => word.to_owned(),
                    }
                })
                .collect()
        })
        .collect()
}

fn client(server: &EtcdServer, user: &str, password: &str) -> Etcd {
    Etcd::new(EtcdOptions {
        endpoints: vec![server.url().to_owned()],
        user: Some((user.to_owned(), password.to_owned())),
        ..EtcdOptions::default()
    })
    .unwrap()
}

#[test]
fn the_documented_etcd_roles_let_an_agent_write_only_its_own_host_keys() {
    let Some(server) = EtcdServer::start("documented_etcd_roles") else {
        return;
    };
    let Some(etcdctl) = program_or_skip("documented_etcd_roles", "etcdctl", "etcd-client") else {
        return;
    };
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/fleet.md");
    let commands = documented_commands(&doc);
    assert!(
        commands.len() > 10 && commands.last().unwrap() == &["auth", "enable"],
        "{commands:?}"
    );
    for args in &commands {
        let output = Command::new(&etcdctl)
            .args(["--endpoints", server.url()])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "etcdctl {args:?}: {output:?}");
    }

    let writes = |etcd: &Etcd, key: &str| etcd.put(key, b"{}", 0);
    let agent = client(&server, "agent-web-1", "agent_web_1");
    for key in [
        "/goshift/hosts/web-1",
        "/goshift/alive/web-1",
        "/goshift/env/prod/progress/web-1/api",
        "/goshift/env/prod/slots/api/0",
        "/goshift/env/prod/rollouts/api",
    ] {
        writes(&agent, key).unwrap_or_else(|e| panic!("agent-web-1 may write {key}: {e}"));
    }
    for key in [
        "/goshift/hosts/web-2",
        "/goshift/alive/web-2",
        "/goshift/env/prod/progress/web-2/api",
        "/goshift/env/prod/toolchain",
        "/goshift/env/dev/slots/api/0",
        "/goshift/audit/x",
    ] {
        let error = writes(&agent, key).expect_err(key).to_string();
        assert!(error.contains("permission denied"), "{key}: {error}");
    }
    // The agent reads what it follows.
    assert!(agent.get_prefix("/goshift/env/prod/").unwrap().kvs.len() >= 3);

    let alice = client(&server, "alice", "alice");
    for key in [
        "/goshift/env/prod/toolchain",
        "/goshift/history/prod/api/r1",
        "/goshift/audit/x",
    ] {
        writes(&alice, key).unwrap_or_else(|e| panic!("alice may write {key}: {e}"));
    }
    for key in ["/goshift/env/dev/toolchain", "/goshift/hosts/web-1"] {
        let error = writes(&alice, key).expect_err(key).to_string();
        assert!(error.contains("permission denied"), "{key}: {error}");
    }
}
