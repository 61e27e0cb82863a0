//! The `prometheus` check against a small Prometheus stand-in on loopback: the supervisor sends
//! each query with its placeholders filled in to `/api/v1/query` during the watch window and
//! acts on the run's verdict.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use goshift_supervisor::{Phase, RollbackReason, UpgradeResult};

use crate::analysis::wait_for_incident;
use crate::harness::{Harness, Setup};

/// Answers every instant query with one series of `value` and keeps the queries it was
/// sent, decoded.
struct FakePrometheus {
    address: SocketAddr,
    queries: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakePrometheus {
    fn start(value: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let queries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (queries, stop) = (Arc::clone(&queries), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(stream) = stream
                        && let Some(query) = answer(stream, value)
                    {
                        queries.lock().unwrap().push(query);
                    }
                }
            })
        };
        Self {
            address,
            queries,
            stop,
            thread: Some(thread),
        }
    }

    fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for FakePrometheus {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request's head and answers it; returns the decoded `query` parameter.
fn answer(mut stream: TcpStream, value: &str) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? != 1 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).ok()?;
    let target = head.split(' ').nth(1)?;
    let query = target.strip_prefix("/api/v1/query?query=")?;
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000,"{value}"]}}]}}}}"#
    );
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    Some(percent_decode(query))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A supervisor whose `api` service is judged by one query against `server`.
fn start(server: &FakePrometheus, query_lines: &str) -> Harness {
    let section = format!(
        r#"
[services.api.analysis.prometheus]
url = "http://{}"
[[services.api.analysis.prometheus.queries]]
name = "success-rate"
query = 'sum(rate(requests{{service="{{{{service}}}}",release="{{{{release}}}}",pid="{{{{pid}}}}"}}[30s]))'
success = "result >= 0.99"
interval = "100ms"
{query_lines}
"#,
        server.address
    );
    let h = Harness::start(Setup {
        service_lines: "watch = \"3s\"",
        more_services: &section,
        ..Setup::default()
    });
    h.until(Phase::Running);
    h
}

#[test]
fn a_failing_promql_query_rolls_the_upgrade_back() {
    let server = FakePrometheus::start("0.5");
    let h = start(&server, "failure_limit = 1");
    let good = h.stage("v2", None);
    let (phases, outcome) = h.upgrade(good.id());
    assert_eq!(outcome.result, UpgradeResult::RolledBack, "{outcome:?}");
    assert_eq!(outcome.rollback_reason, Some(RollbackReason::Prometheus));
    assert_eq!(phases.last(), Some(&Phase::RolledBack), "{phases:?}");
    let reason = outcome.reason.clone().unwrap();
    assert!(
        reason.contains("check `prometheus`")
            && reason.contains("query `success-rate` failed: 2 failed measurements (limit 1)"),
        "{reason}"
    );
    let pid = outcome.failed_pid.unwrap();
    let expected = format!(
        "sum(rate(requests{{service=\"api\",release=\"{}\",pid=\"{pid}\"}}[30s]))",
        good.id()
    );
    let queries = server.queries();
    assert!(
        queries.len() >= 2 && queries.iter().all(|q| *q == expected),
        "{expected} in {queries:#?}"
    );
    assert!(h.get("/").contains("variant=v1"));
    let id = outcome.incident.clone().expect("an incident");
    let report = wait_for_incident(&h, &id);
    assert_eq!(report.measurements[0].check, "prometheus");
}

#[test]
fn a_passing_promql_query_lets_the_upgrade_through_and_is_counted() {
    let server = FakePrometheus::start("1");
    let h = start(&server, "count = 3");
    let good = h.stage("v2", None);
    let (_, outcome) = h.upgrade(good.id());
    assert_eq!(outcome.result, UpgradeResult::Upgraded, "{outcome:?}");
    assert_eq!(
        server.queries().len(),
        3,
        "a run that reached its count sends no more queries"
    );
    let metrics = h.handle.metrics().unwrap();
    for line in [
        "goshift_analysis_measurements_total{service=\"api\",check=\"prometheus\",result=\"passed\"} 3",
        "goshift_analysis_verdicts_total{service=\"api\",check=\"prometheus\",action=\"rollback\"} 0",
        "goshift_rollbacks_total{service=\"api\",reason=\"prometheus\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}
