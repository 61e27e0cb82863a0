//! Prometheus text exposition format (version 0.0.4): the samples of a scrape, and histogram
//! quantiles from their buckets.
//!
//! Comments (`# HELP`, `# TYPE` and others) are skipped; a sample line is a metric name, an
//! optional `{label="value",…}` set (values escape `\\`, `\"` and `\n`), a value (a float,
//! `+Inf`, `-Inf` or `NaN`) and an optional timestamp, which is ignored.

/// One sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name, e.g. `http_requests_total`.
    pub name: String,
    /// The labels in the order written.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// The value of a label, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A line that is not a sample.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the metrics is not a sample: {problem}")]
pub struct ExpositionError {
    /// 1-based.
    pub line: usize,
    /// What is wrong with it.
    pub problem: String,
}

/// Parses a whole exposition.
pub fn parse(text: &str) -> Result<Vec<Sample>, ExpositionError> {
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        samples.push(parse_line(line).map_err(|problem| ExpositionError {
            line: index + 1,
            problem,
        })?);
    }
    Ok(samples)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit()
}

/// Splits a name off the front of `text`.
fn name(text: &str, colons: bool) -> Option<(&str, &str)> {
    let ok = |c: char| is_name_char(c) && (colons || c != ':');
    if !text.starts_with(|c: char| is_name_start(c) && (colons || c != ':')) {
        return None;
    }
    let end = text.find(|c: char| !ok(c)).unwrap_or(text.len());
    Some(text.split_at(end))
}

fn parse_line(line: &str) -> Result<Sample, String> {
    let (metric, mut rest) =
        name(line, true).ok_or_else(|| "it does not start with a metric name".to_owned())?;
    let mut labels = Vec::new();
    rest = rest.trim_start();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) =
                name(rest, false).ok_or_else(|| format!("a label name is expected at `{rest}`"))?;
            let after = after.trim_start();
            let after = after
                .strip_prefix('=')
                .ok_or_else(|| format!("label `{key}` has no `=`"))?
                .trim_start();
            let after = after
                .strip_prefix('"')
                .ok_or_else(|| format!("the value of label `{key}` is not quoted"))?;
            let (value, after) =
                quoted(after).ok_or_else(|| format!("the value of label `{key}` is not closed"))?;
            labels.push((key.to_owned(), value));
            rest = after.trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
            } else if !rest.starts_with('}') {
                return Err(format!("`,` or `}}` is expected after label `{key}`"));
            }
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields
        .next()
        .ok_or_else(|| format!("metric `{metric}` has no value"))?;
    let value = number(value).ok_or_else(|| format!("`{value}` is not a number"))?;
    if let Some(timestamp) = fields.next()
        && timestamp.parse::<i64>().is_err()
    {
        return Err(format!("`{timestamp}` is not a timestamp"));
    }
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected `{extra}` after the value"));
    }
    Ok(Sample {
        name: metric.to_owned(),
        labels,
        value,
    })
}

/// The rest of a quoted label value after its opening quote: the unescaped value and what
/// follows the closing quote.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &text[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

fn number(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) => {
            text.parse().ok()
        }
        _ => None,
    }
}

/// The `q` quantile of a histogram from its cumulative buckets `(upper bound, count)`, as
/// Prometheus' `histogram_quantile` computes it: the bucket holding the rank, with linear
/// interpolation inside it (from 0 for the first bucket); a rank in the `+Inf` bucket gives
/// the highest finite bound. `None` without observations or without a `+Inf` bucket.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut buckets: Vec<(f64, f64)> = buckets
        .iter()
        .copied()
        .filter(|(le, _)| !le.is_nan())
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let &(last_bound, total) = buckets.last()?;
    if last_bound != f64::INFINITY || total.is_nan() || total <= 0.0 {
        return None;
    }
    // Counts must not fall from one bucket to the next; a scrape torn between updates can
    // make them, and Prometheus evens that out the same way.
    let mut highest = 0.0_f64;
    for bucket in &mut buckets {
        highest = highest.max(bucket.1);
        bucket.1 = highest;
    }
    let rank = q * total;
    let index = buckets.iter().position(|&(_, count)| count >= rank)?;
    if buckets[index].0 == f64::INFINITY {
        return Some(if index == 0 {
            0.0
        } else {
            buckets[index - 1].0
        });
    }
    let (upper, count) = buckets[index];
    let (lower, below) = if index == 0 {
        (0.0_f64.min(upper), 0.0)
    } else {
        buckets[index - 1]
    };
    let inside = count - below;
    if inside <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below) / inside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_go_client_exposition() {
        let text = "# HELP http_requests_total Requests.\n\
            # TYPE http_requests_total counter\n\
            http_requests_total{code=\"200\",method=\"GET\"} 1027 1395066363000\n\
            http_requests_total{code=\"500\",method=\"GET\"} 3\n\
            \n\
            go_goroutines 12\n\
            weird{path=\"a\\\\b\\\"c\\nd\",} +Inf\n\
            nan_metric NaN\n\
            neg -1.5e-3\n";
        let samples = parse(text).unwrap();
        assert_eq!(samples.len(), 6);
        assert_eq!(samples[0].name, "http_requests_total");
        assert_eq!(samples[0].label("code"), Some("200"));
        assert_eq!(samples[0].label("method"), Some("GET"));
        assert!((samples[0].value - 1027.0).abs() < f64::EPSILON);
        assert_eq!(samples[2].labels, vec![]);
        assert_eq!(samples[3].label("path"), Some("a\\b\"c\nd"));
        assert!(samples[3].value.is_infinite() && samples[3].value > 0.0);
        assert!(samples[4].value.is_nan());
        assert!((samples[5].value + 0.0015).abs() < 1e-12);
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            ("9lives 1", 1, "metric name"),
            ("x{a=\"1\" 2", 1, "`,` or `}`"),
            ("ok 1\nx{a=1} 2", 2, "not quoted"),
            ("x{a=\"1} 2", 1, "not closed"),
            ("x", 1, "no value"),
            ("x one", 1, "not a number"),
            ("x 1 2 3", 1, "unexpected"),
            ("x 1 soon", 1, "timestamp"),
            ("x{=\"1\"} 2", 1, "label name"),
        ];
        for (text, line, problem) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text}");
            assert!(error.problem.contains(problem), "{text}: {error}");
        }
    }

    #[test]
    fn quantiles_as_prometheus_computes_them() {
        let buckets = [
            (0.005, 10.0),
            (0.01, 50.0),
            (0.1, 90.0),
            (1.0, 100.0),
            (f64::INFINITY, 100.0),
        ];
        let cases = [
            (0.0, Some(0.0)),
            (0.05, Some(0.0025)),
            (0.5, Some(0.01)),
            (0.7, Some(0.055)),
            (0.99, Some(0.91)),
            (1.0, Some(1.0)),
        ];
        for (q, expected) in cases {
            let got = histogram_quantile(q, &buckets);
            match (got, expected) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-9, "q={q}: {g} != {e}"),
                _ => assert_eq!(got, expected, "q={q}"),
            }
        }
        let tail = [(0.1, 1.0), (f64::INFINITY, 10.0)];
        assert_eq!(
            histogram_quantile(0.99, &tail),
            Some(0.1),
            "rank in +Inf: highest finite bound"
        );
        assert_eq!(
            histogram_quantile(0.5, &[(1.0, 0.0), (f64::INFINITY, 0.0)]),
            None,
            "no observations"
        );
        assert_eq!(
            histogram_quantile(0.5, &[(1.0, 5.0)]),
            None,
            "no +Inf bucket"
        );
        assert_eq!(histogram_quantile(1.5, &buckets), None);
        let torn = [(0.1, 5.0), (0.2, 4.0), (f64::INFINITY, 10.0)];
        assert!(histogram_quantile(0.5, &torn).is_some());
    }
}
