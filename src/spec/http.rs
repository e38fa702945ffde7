//! The HTTP parts of a spec: `request` operations with their expected response,
//! and the `servers` the harness hosts. Plain data, parsed from JSON; serving and
//! comparing happen in [`crate::http`].

use serde_json::Value;

/// Keys of a `request` operation's expected `response`.
pub const RESPONSE_KEYS: &[&str] = &["status", "headers", "body"];
/// Keys of a hosted server.
pub const SERVER_KEYS: &[&str] = &["name", "kind", "endpoints"];
/// Kinds of a hosted server (the first is the default).
pub const SERVER_KINDS: &[&str] = &["listening", "closed"];
/// Keys of a hosted server's endpoint.
pub const ENDPOINT_KEYS: &[&str] = &["method", "path", "mode", "response"];
/// Modes of an endpoint (the first is the default).
pub const ENDPOINT_MODES: &[&str] = &["static", "echo-body", "echo-headers"];
/// Keys of a `static` endpoint's response object.
pub const ENDPOINT_RESPONSE_KEYS: &[&str] = &["status", "headers", "body", "chunks", "trailers"];
/// Methods an endpoint may answer (any case in a spec).
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
/// Method of a request or endpoint that names none.
pub const DEFAULT_METHOD: &str = "GET";
/// Path of a request or endpoint that names none.
pub const DEFAULT_PATH: &str = "/";
/// Status expected of a request, and given by an endpoint, that names none.
pub const DEFAULT_STATUS: u16 = 200;

fn string_map(v: Option<&Value>, key: &str) -> Result<Vec<(String, String)>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!("key `{key}.{k}`: expected a string, found {other}")),
            })
            .collect(),
        Some(other) => Err(format!(
            "key `{key}`: expected an object of strings, found {other}"
        )),
    }
}

/// An error for the first key of `m` not in `allowed`, with a did-you-mean.
fn check_keys(
    m: &serde_json::Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(format!(
            "key `{key}.{k}`: {}",
            super::unknown_key_message(k, allowed)
        )),
    }
}

fn string(v: Option<&Value>, key: &str, default: &str) -> Result<String, String> {
    match v {
        None => Ok(default.to_string()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("key `{key}`: expected a string, found {other}")),
    }
}

/// A `request` operation.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestOp {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub expect: ExpectedResponse,
}

/// What a `request` expects back.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedResponse {
    pub status: u16,
    /// Only the listed headers are compared.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RequestOp {
    /// Reads a `request` operation's JSON; `key` names it in errors
    /// (e.g. `operations[1]`).
    pub fn parse(v: &Value, key: &str) -> Result<RequestOp, String> {
        let empty = serde_json::Map::new();
        let m = v.as_object().unwrap_or(&empty);
        let k = |field: &str| format!("{key}.{field}");
        let response = match m.get("response") {
            None => &empty,
            Some(Value::Object(r)) => r,
            Some(other) => {
                return Err(format!(
                    "key `{}`: expected an object {{status, headers, body}}, found {other}",
                    k("response")
                ));
            }
        };
        check_keys(response, &k("response"), RESPONSE_KEYS)?;
        let status = match response.get("status") {
            None => DEFAULT_STATUS,
            Some(s) => s
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| {
                    format!(
                        "key `{}`: expected an HTTP status, found {s}",
                        k("response.status")
                    )
                })?,
        };
        Ok(RequestOp {
            method: string(m.get("method"), &k("method"), DEFAULT_METHOD)?.to_ascii_uppercase(),
            path: string(m.get("path"), &k("path"), DEFAULT_PATH)?,
            headers: string_map(m.get("headers"), &k("headers"))?,
            body: string(m.get("body"), &k("body"), "")?,
            expect: ExpectedResponse {
                status,
                headers: string_map(response.get("headers"), &k("response.headers"))?,
                body: string(response.get("body"), &k("response.body"), "")?,
            },
        })
    }
}

/// A server the harness hosts for the guest (`servers` in the spec).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    pub name: String,
    pub closed: bool,
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint of a hosted server.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Static(StaticResponse),
    EchoBody,
    EchoHeaders,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StaticResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub chunks: Option<Vec<String>>,
    pub trailers: Vec<(String, String)>,
}

impl ServerSpec {
    /// Reads the spec's `servers`; errors name the key.
    pub fn parse_all(values: &[Value]) -> Result<Vec<ServerSpec>, String> {
        let mut out: Vec<ServerSpec> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let key = format!("servers[{i}]");
            let m = v
                .as_object()
                .ok_or_else(|| format!("key `{key}`: expected an object"))?;
            check_keys(m, &key, SERVER_KEYS)?;
            let name = string(m.get("name"), &format!("{key}.name"), "")?;
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "key `{key}.name`: a server name is letters, digits and `_`, got {name:?}"
                ));
            }
            if out.iter().any(|s| s.name.eq_ignore_ascii_case(&name)) {
                return Err(format!(
                    "key `{key}.name`: server {name:?} is declared twice"
                ));
            }
            let closed =
                match string(m.get("kind"), &format!("{key}.kind"), SERVER_KINDS[0])?.as_str() {
                    "listening" => false,
                    "closed" => true,
                    other => {
                        return Err(format!(
                            "key `{key}.kind`: unknown kind {other:?} ({})",
                            SERVER_KINDS.join(", ")
                        ));
                    }
                };
            if closed && m.contains_key("endpoints") {
                return Err(format!(
                    "key `{key}.endpoints`: a server of kind \"closed\" takes no endpoints"
                ));
            }
            let mut endpoints = Vec::new();
            if let Some(eps) = m.get("endpoints") {
                let eps = eps
                    .as_array()
                    .ok_or_else(|| format!("key `{key}.endpoints`: expected a list"))?;
                for (j, e) in eps.iter().enumerate() {
                    endpoints.push(Endpoint::parse(e, &format!("{key}.endpoints[{j}]"))?);
                }
            }
            out.push(ServerSpec {
                name,
                closed,
                endpoints,
            });
        }
        Ok(out)
    }

    /// The environment variable that gives the guest this server's address.
    pub fn env_var(&self) -> String {
        format!("HTTP_SERVER_{}", self.name.to_ascii_uppercase())
    }
}

impl Endpoint {
    fn parse(v: &Value, key: &str) -> Result<Endpoint, String> {
        let m = v
            .as_object()
            .ok_or_else(|| format!("key `{key}`: expected an object"))?;
        check_keys(m, key, ENDPOINT_KEYS)?;
        let method =
            string(m.get("method"), &format!("{key}.method"), DEFAULT_METHOD)?.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(format!(
                "key `{key}.method`: unknown method {method:?} ({})",
                METHODS.join(", ")
            ));
        }
        let path = string(m.get("path"), &format!("{key}.path"), DEFAULT_PATH)?;
        let mode = match string(m.get("mode"), &format!("{key}.mode"), ENDPOINT_MODES[0])?.as_str()
        {
            "static" => {
                let mut r = StaticResponse {
                    status: DEFAULT_STATUS,
                    ..Default::default()
                };
                match m.get("response") {
                    None => {}
                    Some(Value::String(s)) => r.body = s.clone(),
                    Some(Value::Object(o)) => {
                        let k = format!("{key}.response");
                        check_keys(o, &k, ENDPOINT_RESPONSE_KEYS)?;
                        if o.contains_key("chunks") && o.contains_key("body") {
                            return Err(format!("key `{k}`: give `body` or `chunks`, not both"));
                        }
                        if o.contains_key("trailers") && !o.contains_key("chunks") {
                            return Err(format!("key `{k}.trailers`: trailers need `chunks`"));
                        }
                        if let Some(s) = o.get("status") {
                            r.status = s.as_u64().and_then(|n| u16::try_from(n).ok()).ok_or_else(
                                || format!("key `{k}.status`: expected an HTTP status"),
                            )?;
                        }
                        r.headers = string_map(o.get("headers"), &format!("{k}.headers"))?;
                        r.body = string(o.get("body"), &format!("{k}.body"), "")?;
                        r.trailers = string_map(o.get("trailers"), &format!("{k}.trailers"))?;
                        if let Some(c) = o.get("chunks") {
                            let list = c
                                .as_array()
                                .and_then(|a| {
                                    a.iter()
                                        .map(|x| x.as_str().map(String::from))
                                        .collect::<Option<Vec<_>>>()
                                })
                                .ok_or_else(|| {
                                    format!("key `{k}.chunks`: expected a list of strings")
                                })?;
                            r.chunks = Some(list);
                        }
                    }
                    Some(other) => {
                        return Err(format!(
                            "key `{key}.response`: expected a string or an object, found {other}"
                        ));
                    }
                }
                Mode::Static(r)
            }
            mode @ ("echo-body" | "echo-headers") => {
                if m.contains_key("response") {
                    return Err(format!(
                        "key `{key}.response`: an endpoint in {mode:?} mode takes no response"
                    ));
                }
                if mode == "echo-body" {
                    Mode::EchoBody
                } else {
                    Mode::EchoHeaders
                }
            }
            other => {
                return Err(format!(
                    "key `{key}.mode`: unknown mode {other:?} ({})",
                    ENDPOINT_MODES.join(", ")
                ));
            }
        };
        Ok(Endpoint { method, path, mode })
    }
}
