//! `PromQL` queries judged in the manner of Argo Rollouts' analysis runs: each measurement is
//! successful, failed or inconclusive by its conditions; the run fails after more than
//! `failure_limit` failed measurements, is inconclusive after more than `inconclusive_limit`
//! inconclusive ones, errs after more than `error_limit` consecutive query errors, and succeeds
//! once `count` measurements were taken without any of that.

use super::Measurement;
use super::config::PrometheusQuery;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Equal,
    NotEqual,
}

/// `result OP NUMBER`, or `NUMBER OP result`.
#[derive(Debug, Clone, PartialEq)]
struct Comparison {
    operator: Operator,
    value: f64,
}

impl Comparison {
    fn holds(&self, result: f64) -> bool {
        match self.operator {
            Operator::Less => result < self.value,
            Operator::LessEqual => result <= self.value,
            Operator::Greater => result > self.value,
            Operator::GreaterEqual => result >= self.value,
            Operator::Equal => (result - self.value).abs() <= f64::EPSILON * self.value.abs(),
            Operator::NotEqual => (result - self.value).abs() > f64::EPSILON * self.value.abs(),
        }
    }
}

/// A condition on a query's result: comparisons of `result` with numbers, joined by `&&`
/// (binding tighter) and `||`. It holds for a result when it holds for every value the query
/// returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Alternatives (`||`) of conjunctions (`&&`).
    any: Vec<Vec<Comparison>>,
}

impl Condition {
    /// Parses `result >= 0.99`, `result < 0.5 || result > 2`, `0 < result && result < 1`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut any = Vec::new();
        for alternative in text.split("||") {
            let mut all = Vec::new();
            for part in alternative.split("&&") {
                all.push(comparison(part.trim())?);
            }
            any.push(all);
        }
        Ok(Self { any })
    }

    /// Whether it holds for one value.
    pub fn holds(&self, result: f64) -> bool {
        self.any
            .iter()
            .any(|all| all.iter().all(|c| c.holds(result)))
    }
}

fn comparison(text: &str) -> Result<Comparison, String> {
    const OPERATORS: [(&str, Operator, Operator); 6] = [
        ("<=", Operator::LessEqual, Operator::GreaterEqual),
        (">=", Operator::GreaterEqual, Operator::LessEqual),
        ("==", Operator::Equal, Operator::Equal),
        ("!=", Operator::NotEqual, Operator::NotEqual),
        ("<", Operator::Less, Operator::Greater),
        (">", Operator::Greater, Operator::Less),
    ];
    if text.is_empty() {
        return Err("a comparison is empty".into());
    }
    for (symbol, operator, flipped) in OPERATORS {
        let Some((left, right)) = text.split_once(symbol) else {
            continue;
        };
        let (left, right) = (left.trim(), right.trim());
        let number = |t: &str| {
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("`{t}` is not a number"))
        };
        return match (left, right) {
            ("result", other) => Ok(Comparison {
                operator,
                value: number(other)?,
            }),
            (other, "result") => Ok(Comparison {
                operator: flipped,
                value: number(other)?,
            }),
            _ => Err(format!("`{text}` does not compare `result` with a number")),
        };
    }
    Err(format!(
        "`{text}` has no comparison (`<`, `<=`, `>`, `>=`, `==`, `!=`)"
    ))
}

/// What a query returned.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryResult {
    /// The values of a scalar or an instant vector (one per series).
    Values(Vec<f64>),
    /// The query could not be run or answered with an error.
    Error(String),
}

/// One measurement's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryOutcome {
    /// Success condition held (or failure condition did not, when it is the only one).
    Successful,
    /// Failure condition held (or success condition did not, when it is the only one).
    Failed(String),
    /// Neither decided: an empty or NaN result, or both conditions set and neither held.
    Inconclusive(String),
    /// The query failed.
    Error(String),
}

/// Judges one result by a query's conditions (Argo's rules).
pub fn judge(query: &PrometheusQuery, result: &QueryResult) -> QueryOutcome {
    let values = match result {
        QueryResult::Error(message) => return QueryOutcome::Error(message.clone()),
        QueryResult::Values(values) => values,
    };
    if values.is_empty() {
        return QueryOutcome::Inconclusive("the query returned no value".into());
    }
    if values.iter().any(|v| v.is_nan()) {
        return QueryOutcome::Inconclusive(format!("the query returned NaN ({values:?})"));
    }
    let holds = |c: &Condition| values.iter().all(|&v| c.holds(v));
    match (&query.success, &query.failure) {
        (_, Some(failure)) if holds(failure) => {
            QueryOutcome::Failed(format!("{values:?} meets the failure condition"))
        }
        (Some(success), _) if holds(success) => QueryOutcome::Successful,
        (Some(_), None) => QueryOutcome::Failed(format!("{values:?} misses the success condition")),
        (None, _) => QueryOutcome::Successful,
        (Some(_), Some(_)) => QueryOutcome::Inconclusive(format!(
            "{values:?} meets neither the success nor the failure condition"
        )),
    }
}

/// Where a run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    /// More measurements to take.
    Running,
    /// `count` measurements were taken within the limits.
    Successful,
    /// More failed measurements than `failure_limit`.
    Failed(String),
    /// More inconclusive measurements than `inconclusive_limit`.
    Inconclusive(String),
    /// More consecutive errors than `error_limit`.
    Error(String),
}

/// One query's analysis run.
#[derive(Debug, Clone)]
pub struct QueryRun {
    query: PrometheusQuery,
    measured: u32,
    failed: u32,
    inconclusive: u32,
    consecutive_errors: u32,
    status: RunStatus,
}

impl QueryRun {
    /// A run that has measured nothing yet.
    pub fn new(query: PrometheusQuery) -> Self {
        Self {
            query,
            measured: 0,
            failed: 0,
            inconclusive: 0,
            consecutive_errors: 0,
            status: RunStatus::Running,
        }
    }

    /// The query.
    pub fn query(&self) -> &PrometheusQuery {
        &self.query
    }

    /// Where the run stands.
    pub fn status(&self) -> &RunStatus {
        &self.status
    }

    /// Takes one result in; a run that has ended ignores further ones.
    pub fn record(&mut self, result: &QueryResult) -> &RunStatus {
        if self.status != RunStatus::Running {
            return &self.status;
        }
        let outcome = judge(&self.query, result);
        if let QueryOutcome::Error(message) = &outcome {
            self.consecutive_errors += 1;
            if self.consecutive_errors > self.query.error_limit {
                self.status = RunStatus::Error(format!(
                    "{} consecutive query errors, the last: {message}",
                    self.consecutive_errors
                ));
            }
            return &self.status;
        }
        self.consecutive_errors = 0;
        self.measured += 1;
        match outcome {
            QueryOutcome::Failed(why) => {
                self.failed += 1;
                if self.failed > self.query.failure_limit {
                    self.status = RunStatus::Failed(format!(
                        "{} failed measurements (limit {}), the last: {why}",
                        self.failed, self.query.failure_limit
                    ));
                }
            }
            QueryOutcome::Inconclusive(why) => {
                self.inconclusive += 1;
                if self.inconclusive > self.query.inconclusive_limit {
                    self.status = RunStatus::Inconclusive(format!(
                        "{} inconclusive measurements (limit {}), the last: {why}",
                        self.inconclusive, self.query.inconclusive_limit
                    ));
                }
            }
            QueryOutcome::Successful | QueryOutcome::Error(_) => {}
        }
        if self.status == RunStatus::Running
            && self.query.count > 0
            && self.measured >= self.query.count
        {
            self.status = RunStatus::Successful;
        }
        &self.status
    }

    /// The watch window ended: a run without `count` that is still running succeeded.
    pub fn finish(&mut self) -> &RunStatus {
        if self.status == RunStatus::Running {
            self.status = RunStatus::Successful;
        }
        &self.status
    }
}

/// Takes one result into `run` and says what it means for the check's tally, which acts on
/// the first failed measurement: a measurement while the run goes on is passed or
/// inconclusive (a failed one within `failure_limit` included, its reason saying so); the
/// run's failure, inconclusiveness or error is the one failed measurement. `None` once the
/// run has ended: nothing more to measure.
pub fn measurement(run: &mut QueryRun, result: &QueryResult) -> Option<Measurement> {
    if *run.status() != RunStatus::Running {
        return None;
    }
    let outcome = judge(run.query(), result);
    let name = run.query().name.clone();
    Some(match (run.record(result), outcome) {
        (RunStatus::Running | RunStatus::Successful, QueryOutcome::Successful)
        | (RunStatus::Successful, _) => Measurement::Passed,
        (RunStatus::Running, QueryOutcome::Failed(why)) => Measurement::Inconclusive(format!(
            "query `{name}`: failed, within `failure_limit`: {why}"
        )),
        (RunStatus::Running, QueryOutcome::Inconclusive(why)) => Measurement::Inconclusive(
            format!("query `{name}`: inconclusive, within `inconclusive_limit`: {why}"),
        ),
        (RunStatus::Running, QueryOutcome::Error(why)) => Measurement::Inconclusive(format!(
            "query `{name}`: error, within `error_limit`: {why}"
        )),
        (RunStatus::Failed(why), _) => {
            Measurement::Failed(vec![format!("query `{name}` failed: {why}")])
        }
        (RunStatus::Inconclusive(why), _) => {
            Measurement::Failed(vec![format!("query `{name}` was inconclusive: {why}")])
        }
        (RunStatus::Error(why), _) => {
            Measurement::Failed(vec![format!("query `{name}` erred: {why}")])
        }
    })
}

/// What fills a query's placeholders.
#[derive(Debug, Clone)]
pub struct QueryContext<'a> {
    /// `{{service}}`.
    pub service: &'a str,
    /// `{{release}}`.
    pub release: &'a str,
    /// `{{pid}}`.
    pub pid: u32,
}

/// Fills `{{service}}`, `{{release}}` and `{{pid}}`; the values are escaped for a `PromQL`
/// double-quoted string, where they normally stand (`{service="{{service}}"}`).
pub fn render(template: &str, context: &QueryContext<'_>) -> String {
    let escape = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            rest = &rest[start..];
            break;
        };
        match after[..end].trim() {
            "service" => out.push_str(&escape(context.service)),
            "release" => out.push_str(&escape(context.release)),
            "pid" => out.push_str(&context.pid.to_string()),
            other => {
                out.push_str("{{");
                out.push_str(other);
                out.push_str("}}");
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::analysis::config::Action;

    fn query(
        success: Option<&str>,
        failure: Option<&str>,
        count: u32,
        failure_limit: u32,
    ) -> PrometheusQuery {
        PrometheusQuery {
            name: "success-rate".into(),
            query: "q".into(),
            success: success.map(|t| Condition::parse(t).unwrap()),
            failure: failure.map(|t| Condition::parse(t).unwrap()),
            interval: Duration::from_secs(1),
            count,
            failure_limit,
            inconclusive_limit: 0,
            error_limit: 1,
            action: Action::Rollback,
        }
    }

    #[test]
    fn conditions() {
        let cases = [
            ("result >= 0.99", 0.99, true),
            ("result >= 0.99", 0.98, false),
            ("0.5 < result", 0.6, true),
            ("0.5 < result", 0.5, false),
            ("result < 0.5 || result > 2", 3.0, true),
            ("result < 0.5 || result > 2", 1.0, false),
            ("result > 0 && result <= 1", 1.0, true),
            ("result > 0 && result <= 1", 0.0, false),
            ("result == 1", 1.0, true),
            ("result != 1", 1.0, false),
        ];
        for (text, value, holds) in cases {
            assert_eq!(
                Condition::parse(text).unwrap().holds(value),
                holds,
                "{text} at {value}"
            );
        }
        for bad in [
            "",
            "result",
            "result >= high",
            "x > 1",
            "result >= 1 &&",
            "1 < 2",
        ] {
            assert!(Condition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn measurements_by_argo_rules() {
        let values = |v: &[f64]| QueryResult::Values(v.to_vec());
        let success_only = query(Some("result >= 0.99"), None, 0, 0);
        let failure_only = query(None, Some("result < 0.9"), 0, 0);
        let both = query(Some("result >= 0.99"), Some("result < 0.9"), 0, 0);
        let name = |o: &QueryOutcome| match o {
            QueryOutcome::Successful => "successful",
            QueryOutcome::Failed(_) => "failed",
            QueryOutcome::Inconclusive(_) => "inconclusive",
            QueryOutcome::Error(_) => "error",
        };
        let cases = [
            (&success_only, values(&[0.995]), "successful"),
            (&success_only, values(&[0.95]), "failed"),
            (&failure_only, values(&[0.95]), "successful"),
            (&failure_only, values(&[0.5]), "failed"),
            (&both, values(&[0.995]), "successful"),
            (&both, values(&[0.5]), "failed"),
            (&both, values(&[0.95]), "inconclusive"),
            (&both, values(&[]), "inconclusive"),
            (&both, values(&[f64::NAN]), "inconclusive"),
            (&success_only, values(&[0.999, 0.5]), "failed"),
            (
                &success_only,
                QueryResult::Error("bad_data".into()),
                "error",
            ),
        ];
        for (query, result, expected) in cases {
            assert_eq!(name(&judge(query, &result)), expected, "{result:?}");
        }
    }

    fn kind(status: &RunStatus) -> &'static str {
        match status {
            RunStatus::Running => "running",
            RunStatus::Successful => "successful",
            RunStatus::Failed(_) => "failed",
            RunStatus::Inconclusive(_) => "inconclusive",
            RunStatus::Error(_) => "error",
        }
    }

    #[test]
    fn runs_by_count_and_limits() {
        type Case<'a> = (&'static str, u32, u32, Vec<&'a QueryResult>, &'static str);
        let good = QueryResult::Values(vec![1.0]);
        let bad = QueryResult::Values(vec![0.5]);
        let error = QueryResult::Error("timeout".into());
        let cases: Vec<Case<'_>> = vec![
            (
                "three good of count 3",
                3,
                0,
                vec![&good, &good, &good],
                "successful",
            ),
            ("a failure with limit 0", 3, 0, vec![&good, &bad], "failed"),
            (
                "one failure allowed",
                3,
                1,
                vec![&bad, &good, &good],
                "successful",
            ),
            (
                "two failures with limit 1",
                5,
                1,
                vec![&bad, &good, &bad],
                "failed",
            ),
            (
                "an error is allowed, then a good one",
                2,
                0,
                vec![&error, &good, &good],
                "successful",
            ),
            (
                "two errors in a row with limit 1",
                3,
                0,
                vec![&error, &error],
                "error",
            ),
            ("without count it runs on", 0, 0, vec![&good; 10], "running"),
        ];
        for (name, count, failure_limit, results, expected) in cases {
            let mut run = QueryRun::new(query(Some("result >= 0.99"), None, count, failure_limit));
            for r in results {
                run.record(r);
            }
            assert_eq!(kind(run.status()), expected, "{name}");
        }
    }

    #[test]
    fn an_open_run_succeeds_at_the_end_and_an_ended_one_stays_ended() {
        let good = QueryResult::Values(vec![1.0]);
        let bad = QueryResult::Values(vec![0.5]);
        let mut open = QueryRun::new(query(Some("result >= 0.99"), None, 0, 0));
        open.record(&good);
        assert_eq!(kind(open.finish()), "successful");
        let mut ended = QueryRun::new(query(Some("result >= 0.99"), None, 1, 0));
        ended.record(&bad);
        ended.record(&good);
        assert_eq!(kind(ended.status()), "failed", "an ended run stays ended");
        let mut inconclusive =
            QueryRun::new(query(Some("result >= 0.99"), Some("result < 0.5"), 3, 0));
        inconclusive.record(&QueryResult::Values(vec![0.7]));
        assert_eq!(kind(inconclusive.status()), "inconclusive");
    }

    /// Name, count, failure limit, results, what each one meant.
    type RunCase<'a> = (&'a str, u32, u32, Vec<&'a QueryResult>, [&'a str; 3]);

    #[test]
    fn a_run_is_one_failed_measurement_when_it_fails() {
        let good = QueryResult::Values(vec![1.0]);
        let bad = QueryResult::Values(vec![0.5]);
        let error = QueryResult::Error("connection refused".into());
        let kind = |m: &Option<Measurement>| match m {
            None => "ended",
            Some(Measurement::Passed) => "passed",
            Some(Measurement::Failed(_)) => "failed",
            Some(Measurement::Inconclusive(_)) => "inconclusive",
        };
        let cases: [RunCase<'_>; 4] = [
            (
                "a failure within the limit, then the limit",
                0,
                1,
                vec![&bad, &good, &bad],
                ["inconclusive", "passed", "failed"],
            ),
            (
                "count reached: the run ends",
                2,
                0,
                vec![&good, &good, &bad],
                ["passed", "passed", "ended"],
            ),
            (
                "errors within the limit, then too many",
                0,
                0,
                vec![&error, &error, &good],
                ["inconclusive", "failed", "ended"],
            ),
            (
                "a failed run stays ended",
                0,
                0,
                vec![&bad, &bad, &good],
                ["failed", "ended", "ended"],
            ),
        ];
        for (name, count, failure_limit, results, expected) in cases {
            let mut run = QueryRun::new(query(Some("result >= 0.99"), None, count, failure_limit));
            let got: Vec<&str> = results
                .into_iter()
                .map(|r| kind(&measurement(&mut run, r)))
                .collect();
            assert_eq!(got, expected, "{name}");
        }
        let mut run = QueryRun::new(query(Some("result >= 0.99"), None, 0, 0));
        let Some(Measurement::Failed(reasons)) = measurement(&mut run, &bad) else {
            panic!("a failure over the limit is a failed measurement");
        };
        assert!(
            reasons[0].starts_with("query `success-rate` failed: 1 failed measurements"),
            "{reasons:?}"
        );
    }

    #[test]
    fn placeholders_are_filled_and_escaped() {
        let context = QueryContext {
            service: "api",
            release: "r\"1",
            pid: 42,
        };
        assert_eq!(
            render(
                "rate(x{service=\"{{service}}\",release=\"{{ release }}\",pid=\"{{pid}}\"}[1m])",
                &context
            ),
            "rate(x{service=\"api\",release=\"r\\\"1\",pid=\"42\"}[1m])"
        );
        assert_eq!(render("a {{service", &context), "a {{service");
        assert_eq!(render("no placeholders", &context), "no placeholders");
    }
}
