//! Listeners from the service manager: socket activation and the file-descriptor store.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;

use goshift_supervisor::Phase;

use crate::harness::{Harness, Manager, Setup, WAIT};

#[test]
fn a_socket_passed_by_the_service_manager_serves_and_is_not_stored_again() {
    // The service manager's socket (systemd keeps its own copy, as this test does).
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let passed = OwnedFd::from(socket.try_clone().unwrap());
    let manager = Manager::new();
    let h = Harness::start(Setup {
        port: Some(port),
        inherited: vec![("api.http".into(), passed)],
        manager_notify: Some(manager.path.clone()),
        ..Setup::default()
    });
    h.until(Phase::Running);
    assert!(manager.told().starts_with("READY=1\n"));
    assert!(
        manager.stored().is_empty(),
        "a socket the manager passed was stored again"
    );
    assert!(h.get("/").contains("200 OK"));
    h.stop();
}

/// `GET /` on a connection made earlier; the whole response.
fn answer(mut stream: TcpStream) -> String {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let mut buf = [0_u8; 1024];
    while !response.contains("\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed without an answer: {response:?}");
        response.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    response
}

#[test]
fn a_restarted_supervisor_gets_its_listener_back_from_the_store_and_nothing_is_refused() {
    let manager = Manager::new();
    let first = Harness::start(Setup {
        manager_notify: Some(manager.path.clone()),
        ..Setup::default()
    });
    let port = first.port;
    first.until(Phase::Running);
    assert!(manager.told().starts_with("READY=1\n"));
    let stored = manager.stored();
    let names: Vec<&str> = stored.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["api.http"]);
    first.stop();
    assert!(manager.told().starts_with("STOPPING=1\n"));

    // No supervisor runs; the store's copy keeps the socket listening, so a client waits in
    // the backlog instead of being refused.
    let waiting = TcpStream::connect(("127.0.0.1", port)).expect("refused between supervisors");

    let handed_back: Vec<(String, OwnedFd)> = stored
        .iter()
        .map(|(name, fd)| (name.clone(), fd.try_clone().unwrap()))
        .collect();
    let second = Harness::start(Setup {
        port: Some(port),
        inherited: handed_back,
        manager_notify: Some(manager.path.clone()),
        ..Setup::default()
    });
    second.until(Phase::Running);
    assert!(manager.told().starts_with("READY=1\n"));
    assert!(
        manager.stored().is_empty(),
        "the socket handed back was stored twice"
    );
    let response = answer(waiting);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    second.stop();
}
