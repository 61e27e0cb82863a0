//! Hints that work when followed: what goshift suggests to install exists in the index, and
//! an unreachable index names the variable that moves it.

use crate::toolchain::StoreTest;

#[test]
fn a_go_line_suggests_and_auto_installs_its_newest_release() {
    // The index has 1.22.10 but not 1.22.0, as go.dev's never lists every patch of a line.
    let test = StoreTest::new(&["1.21.13", "1.22.10"]);
    test.ok(&["install", "--no-smoke-test", "1.21.13"]);
    let work = test.context.work();
    std::fs::write(work.join("go.mod"), "module m\n\ngo 1.22.0\n").expect("test setup");
    let run = test.run(&["current"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains(
            "hint: run `goshift install 1.22` (the newest 1.22 release, which meets `go 1.22.0`)"
        ),
        "{}",
        run.stderr
    );
    // The proxy's hint is the same, and with `auto_install` it installs that release.
    let go = |test: &StoreTest| {
        let output = test
            .context
            .sandboxed(test.home().join("bin/go"))
            .arg("version")
            .env("GOSHIFT_INDEX_URL", test.mirror.url_of("index.json"))
            .output()
            .expect("test setup");
        test.finish(&output)
    };
    let run = go(&test);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("run `goshift install 1.22` (the newest 1.22 release"),
        "{}",
        run.stderr
    );
    test.ok(&["config", "set", "auto_install", "true"]);
    let run = go(&test);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("go version go1.22.10 "), "{run:?}");
    assert!(
        run.stderr.contains("Resolved `1.22` to go1.22.10"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unreachable_index_names_the_variable_that_moves_it() {
    let test = StoreTest::new(&["1.22.10"]);
    // Nothing listens on port 1 of loopback: the connection is refused at once.
    let unreachable = "http://127.0.0.1:1/dl/index.json";
    for args in [&["install", "1.22"][..], &["list", "--remote"][..]] {
        let output = test
            .command()
            .args(args)
            .env("GOSHIFT_INDEX_URL", unreachable)
            .output()
            .expect("test setup");
        let run = test.finish(&output);
        assert_eq!(run.code, Some(2), "{run:?}");
        assert!(
            run.stderr.contains(&format!(
                "hint: the release index is read from `{unreachable}`; set `GOSHIFT_INDEX_URL` to a reachable copy of it"
            )),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("GOSHIFT_MIRROR` or"), "{}", run.stderr);
    }
}

/// An index server that accepts and never answers: `list --remote` gives up on its own (the
/// first-byte timeout) with the hint, instead of waiting for the read timeout.
#[test]
fn a_silent_index_server_times_out_with_the_hint() {
    let test = StoreTest::new(&[]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("test setup");
    let address = listener.local_addr().expect("test setup");
    // Holds up to four connections open without a word, until the test ends.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(4).collect();
        std::thread::park();
        drop(held);
    });
    let url = format!("http://{address}/index.json");
    let output = test
        .command()
        .args(["list", "--remote"])
        .env("GOSHIFT_INDEX_URL", &url)
        .output()
        .expect("test setup");
    let run = test.finish(&output);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains(&format!("could not fetch `{url}`")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.to_lowercase().contains("timeout"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("set `GOSHIFT_INDEX_URL` to a reachable copy"),
        "{}",
        run.stderr
    );
    // Not a terminal: the wait is a plain line saying what goshift waits for and for how long,
    // without escape codes.
    assert!(
        run.stderr.contains(&format!(
            "Reading the release index from {url} (1s so far)\n"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
}

/// An index server that answers and then trickles the body: the index has an overall
/// deadline (`GOSHIFT_INDEX_TIMEOUT`), far shorter than a toolchain download's.
#[test]
fn a_trickling_index_server_hits_the_index_deadline() {
    use std::io::Write as _;
    let test = StoreTest::new(&[]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("test setup");
    let address = listener.local_addr().expect("test setup");
    // Up to four connections, each sent one byte every 200 ms for at most 30 s.
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n[";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for _ in 0..150 {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    if stream.write_all(b" ").is_err() {
                        return;
                    }
                }
            });
        }
    });
    let url = format!("http://{address}/index.json");
    let output = test
        .command()
        .args(["list", "--remote"])
        .env("GOSHIFT_INDEX_URL", &url)
        .env("GOSHIFT_INDEX_TIMEOUT", "2s")
        .output()
        .expect("test setup");
    let run = test.finish(&output);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("the release index took longer than 2s (GOSHIFT_INDEX_TIMEOUT)"),
        "{}",
        run.stderr
    );
    // A bad value is refused with the fix.
    let bad = test
        .command()
        .args(["list", "--remote"])
        .env("GOSHIFT_INDEX_TIMEOUT", "soon")
        .output()
        .expect("test setup");
    let bad = test.finish(&bad);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(
        bad.stderr
            .contains("GOSHIFT_INDEX_TIMEOUT is `soon`, not a duration"),
        "{}",
        bad.stderr
    );
}
