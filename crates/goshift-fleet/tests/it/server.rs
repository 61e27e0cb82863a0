//! The etcd of the tests, and clients of it.

use std::time::{Duration, Instant};

use goshift_fleet::{Etcd, EtcdOptions, Fleet, Keys};
pub(crate) use goshift_testkit::etcd::EtcdServer;

/// Clients of a test etcd.
pub(crate) trait Clients {
    fn client(&self) -> Etcd;
    fn fleet(&self) -> Fleet;
}

impl Clients for EtcdServer {
    fn client(&self) -> Etcd {
        Etcd::new(EtcdOptions {
            endpoints: vec![self.url().to_owned()],
            ..EtcdOptions::default()
        })
        .unwrap()
    }

    fn fleet(&self) -> Fleet {
        Fleet::new(self.client(), Keys::new("/goshift/").unwrap())
    }
}

/// Polls `check` until it holds, failing after `limit`.
pub(crate) fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
