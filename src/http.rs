//! HTTP on the harness's side, for every backend: the endpoints a spec's
//! `servers` declare (hosted by the harness for the guest), comparing a served
//! guest's responses with `request` expectations, and a loopback-only client
//! for guests served by an external runtime.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::spec::http::{Endpoint, ExpectedResponse, Mode, RequestOp, ServerSpec};

/// The largest request body the hosted servers read, and the largest response
/// body read from a guest: 16 MiB.
const MAX_BODY_BYTES: usize = 16 << 20;
/// How long a request to an externally served guest may take.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Sends a `request` operation to a guest an external runtime serves at
/// `base_url` (`http://HOST:PORT/...`, HOST a loopback address), as the official
/// runner does, and collects the response (its body bounded).
pub async fn send_request(
    base_url: &str,
    op: &RequestOp,
) -> Result<crate::run::guest::HttpResponse, String> {
    use http_body_util::BodyExt;
    let uri: http::Uri = base_url
        .parse()
        .map_err(|e| format!("the runtime printed an invalid URL {base_url:?}: {e}"))?;
    let host = uri.host().unwrap_or_default();
    let ip: std::net::IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| format!("the runtime serves at {base_url:?}, not a loopback IP address"))?;
    if !ip.is_loopback() {
        return Err(format!(
            "the runtime serves at {base_url:?}, which is not a loopback address; only loopback may be reached"
        ));
    }
    let addr = SocketAddr::new(ip, uri.port_u16().unwrap_or(80));
    let path = if op.path.starts_with('/') {
        op.path.clone()
    } else {
        format!("/{}", op.path)
    };
    let base_path = uri.path().trim_end_matches('/');
    let mut req = http::Request::builder()
        .method(op.method.as_str())
        .uri(format!("{base_path}{path}"))
        .header("host", format!("{addr}"));
    for (k, v) in &op.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(http_body_util::Full::new(bytes::Bytes::from(
            op.body.clone(),
        )))
        .map_err(|e| format!("invalid request: {e}"))?;
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let io = wasmtime_wasi_http::io::TokioIo::new(stream);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| format!("HTTP handshake with {addr} failed: {e}"))?;
        tokio::spawn(conn);
        let response = sender
            .send_request(req)
            .await
            .map_err(|e| format!("the request failed: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = http_body_util::Limited::new(body, MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the response body failed: {e}"))?
            .to_bytes();
        Ok(crate::run::guest::HttpResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no response within {} s", REQUEST_TIMEOUT.as_secs()))?
}

/// Compares a response with the expectation; the messages of every mismatch.
pub fn compare_response(
    expect: &ExpectedResponse,
    status: u16,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Vec<String> {
    let mut out = Vec::new();
    if status != expect.status {
        out.push(format!("status: expected {}, got {status}", expect.status));
    }
    for (name, want) in &expect.headers {
        let got: Vec<&str> = headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if !got.contains(&want.as_str()) {
            out.push(format!("header `{name}`: expected {want:?}, got {got:?}"));
        }
    }
    if body != expect.body.as_bytes() {
        out.push(format!(
            "body: expected {:?}, got {:?}",
            expect.body,
            String::from_utf8_lossy(body)
        ));
    }
    out
}

/// Starts the hosted servers on loopback; returns (env var, address) pairs. The
/// servers run as tasks of the test's runtime and end with it.
pub async fn start_servers(servers: &[ServerSpec]) -> std::io::Result<Vec<(String, SocketAddr)>> {
    let mut out = Vec::new();
    for s in servers {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        if s.closed {
            // An address where nothing listens: bound, then closed.
            drop(listener);
        } else {
            let endpoints = s.endpoints.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let endpoints = endpoints.clone();
                    tokio::spawn(async move {
                        let _ = serve_connection(stream, &endpoints).await;
                    });
                }
            });
        }
        out.push((s.env_var(), addr));
    }
    Ok(out)
}

/// A parsed request as the hosted servers see it.
struct Incoming {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
}

async fn read_headers<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
) -> std::io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            break;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok(headers)
}

async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
) -> std::io::Result<Option<Incoming>> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let headers = read_headers(r).await?;
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    let mut trailers = Vec::new();
    let too_big = || std::io::Error::other("request body over the hosted servers' limit");
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if n == 0 {
                trailers = read_headers(r).await?;
                break;
            }
            if body.len().saturating_add(n) > MAX_BODY_BYTES {
                return Err(too_big());
            }
            let mut chunk = vec![0u8; n];
            r.read_exact(&mut chunk).await?;
            body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            r.read_exact(&mut crlf).await?;
        }
    } else if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if len > MAX_BODY_BYTES {
            return Err(too_big());
        }
        body = vec![0u8; len];
        r.read_exact(&mut body).await?;
    }
    Ok(Some(Incoming {
        method,
        path,
        headers,
        body,
        trailers,
    }))
}

fn status_line(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP/1.1 {status} {reason}\r\n")
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    endpoints: &[Endpoint],
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(req) = read_request(&mut reader).await? {
        // The path matches with its query, byte for byte: what reached the wire.
        let found = endpoints
            .iter()
            .find(|e| e.method == req.method && e.path == req.path);
        let head = req.method == "HEAD";
        let mut out = Vec::new();
        match found.map(|e| &e.mode) {
            None => {
                let body = format!("no endpoint for {} {}", req.method, req.path);
                out.extend(status_line(404).into_bytes());
                out.extend(format!("content-length: {}\r\n\r\n{body}", body.len()).into_bytes());
            }
            Some(Mode::EchoBody) => {
                out.extend(status_line(200).into_bytes());
                out.extend(format!("content-length: {}\r\n\r\n", req.body.len()).into_bytes());
                out.extend_from_slice(&req.body);
            }
            Some(Mode::EchoHeaders) => {
                out.extend(status_line(200).into_bytes());
                let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
                headers
                    .entry("x-request-method".into())
                    .or_default()
                    .push(req.method.clone());
                headers
                    .entry("x-request-path".into())
                    .or_default()
                    .push(req.path.clone());
                for (k, v) in &req.headers {
                    headers
                        .entry(format!("x-echo-{k}"))
                        .or_default()
                        .push(v.clone());
                }
                for (k, v) in &req.trailers {
                    headers
                        .entry(format!("x-trailer-{k}"))
                        .or_default()
                        .push(v.clone());
                }
                for (k, vs) in headers {
                    for v in vs {
                        out.extend(format!("{k}: {v}\r\n").into_bytes());
                    }
                }
                out.extend(b"content-length: 0\r\n\r\n");
            }
            Some(Mode::Static(r)) => {
                out.extend(status_line(r.status).into_bytes());
                for (k, v) in &r.headers {
                    out.extend(format!("{k}: {v}\r\n").into_bytes());
                }
                match &r.chunks {
                    Some(chunks) => {
                        out.extend(b"transfer-encoding: chunked\r\n");
                        if !r.trailers.is_empty() {
                            let names: Vec<&str> =
                                r.trailers.iter().map(|(k, _)| k.as_str()).collect();
                            out.extend(format!("trailer: {}\r\n", names.join(", ")).into_bytes());
                        }
                        out.extend(b"\r\n");
                        for c in chunks.iter().filter(|c| !c.is_empty()) {
                            out.extend(format!("{:x}\r\n{c}\r\n", c.len()).into_bytes());
                        }
                        out.extend(b"0\r\n");
                        for (k, v) in &r.trailers {
                            out.extend(format!("{k}: {v}\r\n").into_bytes());
                        }
                        out.extend(b"\r\n");
                    }
                    None => {
                        out.extend(
                            format!("content-length: {}\r\n\r\n", r.body.len()).into_bytes(),
                        );
                        if !head {
                            out.extend(r.body.as_bytes());
                        }
                    }
                }
            }
        }
        write.write_all(&out).await?;
        write.flush().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_responses_compare() {
        let op = RequestOp::parse(
            &serde_json::json!({
                "method": "post", "path": "/echo", "headers": {"x-a": "1"}, "body": "hi",
                "response": {"status": 201, "headers": {"content-type": "text/plain"}, "body": "hi"}
            }),
            "operations[1]",
        )
        .unwrap();
        assert_eq!(
            (op.method.as_str(), op.path.as_str(), op.body.as_str()),
            ("POST", "/echo", "hi")
        );
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "text/plain".parse().unwrap());
        assert!(compare_response(&op.expect, 201, &headers, b"hi").is_empty());
        let problems = compare_response(&op.expect, 200, &http::HeaderMap::new(), b"ho");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("status: expected 201, got 200"));
        let e = RequestOp::parse(
            &serde_json::json!({"response": {"status": "x"}}),
            "operations[1]",
        )
        .unwrap_err();
        assert!(e.contains("key `operations[1].response.status`"), "{e}");
        assert!(
            ServerSpec::parse_all(&[serde_json::json!({"name": "a-b"})])
                .unwrap_err()
                .contains("servers[0].name")
        );
        assert!(
            ServerSpec::parse_all(&[
                serde_json::json!({"name": "a", "endpoints": [{"mode": "nope"}]})
            ])
            .unwrap_err()
            .contains("servers[0].endpoints[0].mode")
        );
    }

    #[tokio::test]
    async fn hosted_servers_answer_by_mode() {
        let specs = ServerSpec::parse_all(&[serde_json::json!({
            "name": "main",
            "endpoints": [
                {"method": "GET", "path": "/s", "response": {"status": 201, "headers": {"x-a": "1"}, "body": "hi"}},
                {"method": "POST", "path": "/e", "mode": "echo-body"},
                {"method": "GET", "path": "/h", "mode": "echo-headers"},
                {"method": "GET", "path": "/c", "response": {"chunks": ["ab", "cd"], "trailers": {"x-t": "z"}}}
            ]
        })])
        .unwrap();
        let addrs = start_servers(&specs).await.unwrap();
        assert_eq!(addrs[0].0, "HTTP_SERVER_MAIN");
        let addr = addrs[0].1;
        let ask = |req: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(req.as_bytes()).await.unwrap();
            s.shutdown().await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        let r = ask("GET /s HTTP/1.1\r\nhost: x\r\n\r\n").await;
        assert!(
            r.starts_with("HTTP/1.1 201") && r.contains("x-a: 1") && r.ends_with("\r\n\r\nhi"),
            "{r}"
        );
        let r = ask("POST /e HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc").await;
        assert!(r.ends_with("\r\n\r\nabc"), "{r}");
        let r = ask("GET /h HTTP/1.1\r\nx-y: 2\r\n\r\n").await;
        assert!(
            r.contains("x-echo-x-y: 2") && r.contains("x-request-path: /h"),
            "{r}"
        );
        let r = ask("GET /c HTTP/1.1\r\n\r\n").await;
        assert!(r.contains("2\r\nab\r\n2\r\ncd\r\n0\r\nx-t: z\r\n"), "{r}");
        let r = ask("GET /nope HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    }
}
