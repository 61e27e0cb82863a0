//! Child output: logged line by line with service, generation and pid, its tail kept after
//! the generation is gone, and a child writing faster than the log never held up.

use std::os::unix::fs::PermissionsExt;

use goshift_supervisor::{BuildFacts, Client, Phase, Reply, Request, Stream, UpgradeResult};
use goshift_testkit::service::service_variant;

use crate::harness::{Harness, Setup, WAIT};

#[test]
fn a_failed_generation_leaves_its_output_behind() {
    let h = Harness::start(Setup::default());
    h.until(Phase::Running);
    let bad = h.stage("v2-crash", Some("crash-at-start"));
    let (_, outcome) = h.upgrade(bad.id());
    assert_eq!(outcome.result, UpgradeResult::RolledBack);
    let failed = outcome.failed_pid.expect("the failed pid");
    // The line reached the log, tagged with where it came from.
    let line = loop {
        let line = h.output.recv_timeout(WAIT).expect("an output line");
        if line.pid == failed {
            break line;
        }
    };
    assert_eq!(line.service, "api");
    assert_eq!(line.stream, Stream::Stderr);
    assert_eq!(line.line, "test service: crashing at start as asked");
    // And its tail outlives the generation.
    let outputs = h.handle.output("api").unwrap();
    let kept = outputs
        .iter()
        .find(|o| o.pid == failed)
        .expect("kept output");
    assert_eq!(kept.generation, line.generation);
    assert_eq!(
        String::from_utf8_lossy(&kept.stderr),
        "test service: crashing at start as asked\n"
    );
    assert!(h.handle.output("nope").is_none());

    control_socket_sends_the_tails(&h, failed, kept.generation, outputs.len());
}

/// The control socket hands out the same tails as `Handle::output` (`goshift svc logs`):
/// `failed` (generation `generation`) gone, the old generation still serving.
fn control_socket_sends_the_tails(h: &Harness, failed: u32, generation: u64, kept: usize) {
    let logs = |generation| {
        let mut replies = Vec::new();
        Client::new(&h.control)
            .request(
                &Request::Logs {
                    service: "api".into(),
                    generation,
                },
                |r| replies.push(r),
            )
            .unwrap();
        replies
    };
    let replies = logs(Some(generation));
    let [Reply::Logs { generations, .. }] = replies.as_slice() else {
        panic!("{replies:?}");
    };
    assert_eq!(generations.len(), 1, "{generations:?}");
    assert_eq!((generations[0].pid, generations[0].live), (failed, false));
    assert_eq!(
        generations[0].stderr,
        "test service: crashing at start as asked\n"
    );
    let replies = logs(None);
    let [Reply::Logs { generations, .. }] = replies.as_slice() else {
        panic!("{replies:?}");
    };
    assert_eq!(generations.len(), kept);
    // The old generation kept serving while the new one failed.
    let serving: Vec<u32> = generations
        .iter()
        .filter(|g| g.live)
        .map(|g| g.pid)
        .collect();
    assert_eq!(serving.len(), 1, "{generations:?}");
    assert_ne!(serving[0], failed);
    let replies = logs(Some(generation + 100));
    let [Reply::Error { message }] = replies.as_slice() else {
        panic!("{replies:?}");
    };
    assert!(message.contains("is not kept"), "{message}");
}

#[test]
fn a_child_writing_faster_than_the_log_is_not_held_up_and_the_loss_is_counted() {
    let h = Harness::start(Setup::default());
    h.until(Phase::Running);
    // 20,000 lines, more than the log queue holds, then the real service. Nobody reads the
    // log in this test: if the supervisor waited for it, the script would block and never
    // become ready.
    let service = service_variant(h.dir.path(), "v2", None);
    let script = h.dir.path().join("chatty");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ni=0\nwhile [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done\nexec {}\n",
            service.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let release = h
        .store()
        .stage(&script, BuildFacts::default(), None)
        .unwrap();
    let (_, outcome) = h.upgrade(release.id());
    assert_eq!(outcome.result, UpgradeResult::Upgraded);
    let metrics = h.handle.metrics().unwrap();
    let dropped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("goshift_child_output_dropped_lines_total{service=\"api\"} "))
        .expect("the dropped-lines counter")
        .parse()
        .unwrap();
    assert!(dropped > 0, "{metrics}");
    let outputs = h.handle.output("api").unwrap();
    let chatty = outputs.last().unwrap();
    assert_eq!(chatty.dropped_lines, dropped);
    assert!(
        String::from_utf8_lossy(&chatty.stdout).ends_with("line 19999\n"),
        "the tail does not end with the last line"
    );
    assert_eq!(chatty.stdout.len(), goshift_supervisor::TAIL_BYTES);
    let mut replies = Vec::new();
    Client::new(&h.control)
        .request(
            &Request::Logs {
                service: "api".into(),
                generation: Some(chatty.generation),
            },
            |r| replies.push(r),
        )
        .unwrap();
    let [Reply::Logs { generations, .. }] = replies.as_slice() else {
        panic!("{replies:?}");
    };
    assert_eq!(generations[0].dropped_lines, dropped);
    assert!(generations[0].live);
}
