//! Not accepting: the supervisor owns the listening sockets, so it sees connections queue
//! while the new generation accepts none (a build that listens elsewhere, or whose accept loop
//! never started, still says `READY=1`).

use super::Measurement;

/// One look at a listening socket and the generation behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptSample {
    /// Connections waiting in the socket's accept queue.
    pub queued: u64,
    /// Connections the generation has accepted so far (a counter that only grows).
    pub accepted: u64,
}

/// Judges a sample against the previous one: failed when connections wait, the queue has not
/// shrunk and the generation accepted none in between. A first sample is inconclusive.
pub fn judge(previous: Option<AcceptSample>, sample: AcceptSample) -> Measurement {
    let Some(previous) = previous else {
        return Measurement::Inconclusive("first sample".into());
    };
    if sample.queued == 0 {
        return Measurement::Passed;
    }
    let accepted = sample.accepted.saturating_sub(previous.accepted);
    if accepted == 0 && sample.queued >= previous.queued {
        return Measurement::Failed(vec![format!(
            "{} connections wait in the accept queue (before: {}) and the generation accepted none",
            sample.queued, previous.queued
        )]);
    }
    Measurement::Passed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(queued: u64, accepted: u64) -> AcceptSample {
        AcceptSample { queued, accepted }
    }

    #[test]
    fn queue_against_accepted_connections() {
        let cases = [
            ("first sample", None, sample(5, 0), "inconclusive"),
            ("empty queue", Some(sample(0, 0)), sample(0, 0), "passed"),
            (
                "empty queue, idle keep-alive",
                Some(sample(0, 32)),
                sample(0, 32),
                "passed",
            ),
            (
                "queue, accepting",
                Some(sample(3, 10)),
                sample(4, 12),
                "passed",
            ),
            (
                "queue shrinking",
                Some(sample(8, 10)),
                sample(2, 10),
                "passed",
            ),
            (
                "queue stuck, nothing accepted",
                Some(sample(4, 0)),
                sample(4, 0),
                "failed",
            ),
            (
                "queue growing, nothing accepted",
                Some(sample(1, 7)),
                sample(9, 7),
                "failed",
            ),
            (
                "counter reset is not acceptance",
                Some(sample(2, 9)),
                sample(3, 0),
                "failed",
            ),
        ];
        for (name, previous, current, expected) in cases {
            let got = match judge(previous, current) {
                Measurement::Passed => "passed",
                Measurement::Failed(_) => "failed",
                Measurement::Inconclusive(_) => "inconclusive",
            };
            assert_eq!(got, expected, "{name}");
        }
    }
}
