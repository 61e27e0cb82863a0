//! Instant queries against a Prometheus server's HTTP API (`GET /api/v1/query?query=…`).

use std::time::Duration;

use serde::Deserialize;

use super::http;
use crate::analysis::promql::QueryResult;

/// The largest answer read: a query meant for a verdict returns a handful of series.
pub const ANSWER_LIMIT: usize = 1 << 20;

/// Percent-encodes a query parameter (everything but unreserved characters).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
    out
}

/// The URL of an instant query.
pub fn query_url(base: &str, query: &str) -> String {
    format!(
        "{}/api/v1/query?query={}",
        base.trim_end_matches('/'),
        encode(query)
    )
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<Series>),
    Scalar((f64, String)),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Series {
    value: (f64, String),
}

fn value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text
            .parse()
            .map_err(|_| format!("the value `{text}` is not a number")),
    }
}

/// Turns the API's JSON answer into a result: the values of a vector or a scalar; an error
/// answer, a range result or a string as [`QueryResult::Error`] naming why.
pub fn parse_answer(body: &[u8]) -> QueryResult {
    let answer: Answer = match serde_json::from_slice(body) {
        Ok(answer) => answer,
        Err(e) => {
            return QueryResult::Error(format!("the answer is not the query API's JSON: {e}"));
        }
    };
    if answer.status != "success" {
        return QueryResult::Error(format!(
            "the server answered {}: {}",
            answer.error_type.as_deref().unwrap_or("an error"),
            answer.error.as_deref().unwrap_or("(no message)")
        ));
    }
    let values = match answer.data {
        Some(Data::Vector(series)) => series.iter().map(|s| value(&s.value.1)).collect(),
        Some(Data::Scalar((_, text))) => value(&text).map(|v| vec![v]),
        Some(Data::Matrix(_)) => {
            Err("the query returned a range vector: query an instant vector or a scalar".into())
        }
        Some(Data::String(_)) => {
            Err("the query returned a string: query an instant vector or a scalar".into())
        }
        None => Err("the answer has no data".into()),
    };
    match values {
        Ok(values) => QueryResult::Values(values),
        Err(message) => QueryResult::Error(message),
    }
}

/// Runs one instant query. A server that answers 4xx/5xx still sends the API's JSON error,
/// which is parsed for its message.
pub fn query(base: &str, query: &str, timeout: Duration) -> QueryResult {
    match http::get(&query_url(base, query), timeout, ANSWER_LIMIT) {
        Ok(response) if response.body.is_empty() => QueryResult::Error(format!(
            "the server answered {} with no body",
            response.status
        )),
        Ok(response) => parse_answer(&response.body),
        Err(e) => QueryResult::Error(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn answers() {
        let values = |v: &[f64]| QueryResult::Values(v.to_vec());
        let cases: [(&str, QueryResult); 5] = [
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"api"},"value":[1700000000.1,"0.995"]},{"metric":{},"value":[1700000000.1,"1"]}]}}"#,
                values(&[0.995, 1.0]),
            ),
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
                values(&[]),
            ),
            (
                r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"+Inf"]}}"#,
                values(&[f64::INFINITY]),
            ),
            (
                r#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#,
                QueryResult::Error("the server answered bad_data: parse error at char 5".into()),
            ),
            (
                r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
                QueryResult::Error(
                    "the query returned a range vector: query an instant vector or a scalar".into(),
                ),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(parse_answer(body.as_bytes()), expected, "{body}");
        }
        assert!(
            matches!(parse_answer(b"<html>"), QueryResult::Error(m) if m.contains("not the query API's JSON"))
        );
        let nan = parse_answer(br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#);
        assert!(matches!(nan, QueryResult::Values(v) if v[0].is_nan()));
    }

    #[test]
    fn a_query_over_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0_u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                head.push(byte[0]);
            }
            let body = r#"{"status":"success","data":{"resultType":"scalar","result":[1,"0.5"]}}"#;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            String::from_utf8(head).unwrap()
        });
        let result = query(
            &format!("http://{address}/"),
            "sum(up{service=\"api\"})",
            Duration::from_secs(5),
        );
        assert_eq!(result, QueryResult::Values(vec![0.5]));
        let head = server.join().unwrap();
        assert!(
            head.starts_with(
                "GET /api/v1/query?query=sum%28up%7Bservice%3D%22api%22%7D%29 HTTP/1.1\r\n"
            ),
            "{head}"
        );
        let refused = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(matches!(
            query(&format!("http://{refused}"), "up", Duration::from_secs(1)),
            QueryResult::Error(_)
        ));
    }
}
