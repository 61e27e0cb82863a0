//! Any text: the Prometheus exposition parser must return; what it accepts, written out again
//! in the text format, parses to the same samples; and a histogram quantile over the accepted
//! values, taken pairwise as buckets, never panics and, for finite non-negative counts, lies
//! between the lowest bound (or 0) and the highest finite bound.
#![no_main]

use goshift_supervisor::measure::exposition::{Sample, histogram_quantile, parse};
use libfuzzer_sys::fuzz_target;

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        format!("{value:?}")
    }
}

fn render(samples: &[Sample]) -> String {
    let mut out = String::new();
    for sample in samples {
        out.push_str(&sample.name);
        if !sample.labels.is_empty() {
            out.push('{');
            for (i, (key, value)) in sample.labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
                out.push_str(&format!("{key}=\"{escaped}\""));
            }
            out.push('}');
        }
        out.push(' ');
        out.push_str(&number(sample.value));
        out.push('\n');
    }
    out
}

fn same(a: &Sample, b: &Sample) -> bool {
    a.name == b.name
        && a.labels == b.labels
        && (a.value == b.value || (a.value.is_nan() && b.value.is_nan()))
}

fuzz_target!(|text: &str| {
    let Ok(samples) = parse(text) else { return };
    let again = parse(&render(&samples)).expect("a rendered exposition must parse");
    assert_eq!(again.len(), samples.len());
    for (a, b) in samples.iter().zip(&again) {
        assert!(same(a, b), "{a:?} != {b:?}");
    }
    let buckets: Vec<(f64, f64)> = samples.windows(2).map(|w| (w[0].value, w[1].value)).collect();
    let tame = buckets.iter().all(|&(le, count)| !le.is_nan() && count.is_finite() && count >= 0.0);
    let finite = buckets.iter().map(|b| b.0).filter(|le| le.is_finite());
    let (low, high) = finite.fold((0.0_f64, f64::NEG_INFINITY), |(lo, hi), le| (lo.min(le), hi.max(le)));
    for q in [0.0, 0.25, 0.5, 0.99, 1.0] {
        let Some(v) = histogram_quantile(q, &buckets) else { continue };
        if tame && high.is_finite() && (high - low).is_finite() {
            assert!(v >= low - 1e-9 * low.abs() && v <= high + 1e-9 * high.abs(), "q={q}: {v} outside [{low}, {high}] of {buckets:?}");
        }
    }
});
