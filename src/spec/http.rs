//! The HTTP parts of a validated spec: `request` operations with their expected
//! response, and the `servers` the harness hosts. Plain data, made from the
//! spec file's types ([`super::raw::http`]); serving and comparing happen in
//! [`crate::http`].

use serde_json::Value;

use super::error::{Problem, problems_text};
use super::raw;

/// Methods an endpoint may answer (any case in a spec).
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
/// Method of a request or endpoint that names none.
pub const DEFAULT_METHOD: &str = "GET";
/// Path of a request or endpoint that names none.
pub const DEFAULT_PATH: &str = "/";
/// Status expected of a request, and given by an endpoint, that names none.
pub const DEFAULT_STATUS: u16 = 200;

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
    /// A `request` operation as the spec file gives it.
    pub fn from_raw(raw: raw::http::Request) -> RequestOp {
        RequestOp {
            method: raw.method.to_ascii_uppercase(),
            path: raw.path,
            headers: raw.headers.0,
            body: raw.body,
            expect: ExpectedResponse {
                status: raw.response.status,
                headers: raw.response.headers.0,
                body: raw.response.body,
            },
        }
    }

    /// Reads a `request` operation's JSON; `key` names it in errors
    /// (e.g. `operations[1]`).
    pub fn parse(v: &Value, key: &str) -> Result<RequestOp, String> {
        let mut value = v.clone();
        if let Value::Object(map) = &mut value {
            map.remove("type");
        }
        super::shape::parse_value::<raw::http::Request>(&value, key)
            .map(RequestOp::from_raw)
            .map_err(|problems| problems_text(&problems))
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
    /// Reads the spec's `servers` from JSON; errors name the key, one per line.
    pub fn parse_all(values: &[Value]) -> Result<Vec<ServerSpec>, String> {
        let value = Value::Array(values.to_vec());
        let servers = super::shape::parse_value::<Vec<raw::http::Server>>(&value, "servers")
            .map_err(|problems| problems_text(&problems))?;
        let mut problems = Vec::new();
        let servers = ServerSpec::from_raw(servers, &mut problems);
        match problems.is_empty() {
            true => Ok(servers),
            false => Err(problems_text(&problems)),
        }
    }

    /// The servers as the spec file gives them; what is wrong goes to `problems`.
    pub fn from_raw(
        servers: Vec<raw::http::Server>,
        problems: &mut Vec<Problem>,
    ) -> Vec<ServerSpec> {
        let mut out: Vec<ServerSpec> = Vec::new();
        for (i, server) in servers.into_iter().enumerate() {
            let key = format!("servers[{i}]");
            let name = server.name;
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                problems.push(Problem::new(
                    format!("{key}.name"),
                    format!("a server name is letters, digits and `_`, got {name:?}"),
                ));
            } else if out.iter().any(|s| s.name.eq_ignore_ascii_case(&name)) {
                problems.push(Problem::new(
                    format!("{key}.name"),
                    format!("server {name:?} is declared twice"),
                ));
            }
            let closed = server.kind == raw::http::ServerKind::Closed;
            if closed && server.endpoints.is_some() {
                problems.push(Problem::new(
                    format!("{key}.endpoints"),
                    "a server of kind \"closed\" takes no endpoints",
                ));
            }
            let endpoints = (server.endpoints.unwrap_or_default().into_iter().enumerate())
                .filter_map(|(j, e)| {
                    Endpoint::from_raw(e, &format!("{key}.endpoints[{j}]"), problems)
                })
                .collect();
            out.push(ServerSpec {
                name,
                closed,
                endpoints,
            });
        }
        out
    }

    /// The environment variable that gives the guest this server's address.
    pub fn env_var(&self) -> String {
        format!("HTTP_SERVER_{}", self.name.to_ascii_uppercase())
    }
}

impl Endpoint {
    fn from_raw(
        raw: raw::http::Endpoint,
        key: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<Endpoint> {
        use raw::http::{EndpointMode, EndpointResponse};
        let method = raw.method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            problems.push(Problem::new(
                format!("{key}.method"),
                format!("unknown method {method:?} ({})", METHODS.join(", ")),
            ));
        }
        let mode = match (raw.mode, raw.response) {
            (EndpointMode::Static, None) => Mode::Static(StaticResponse {
                status: DEFAULT_STATUS,
                ..Default::default()
            }),
            (EndpointMode::Static, Some(EndpointResponse::Body(body))) => {
                Mode::Static(StaticResponse {
                    status: DEFAULT_STATUS,
                    body,
                    ..Default::default()
                })
            }
            (EndpointMode::Static, Some(EndpointResponse::Full(r))) => {
                Mode::Static(static_response(r, &format!("{key}.response"), problems)?)
            }
            (mode, Some(_)) => {
                let name = if mode == EndpointMode::EchoBody {
                    "echo-body"
                } else {
                    "echo-headers"
                };
                problems.push(Problem::new(
                    format!("{key}.response"),
                    format!("an endpoint in {name:?} mode takes no response"),
                ));
                return None;
            }
            (EndpointMode::EchoBody, None) => Mode::EchoBody,
            (EndpointMode::EchoHeaders, None) => Mode::EchoHeaders,
        };
        Some(Endpoint {
            method,
            path: raw.path,
            mode,
        })
    }
}

fn static_response(
    r: raw::http::StaticResponse,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<StaticResponse> {
    if r.chunks.is_some() && r.body.is_some() {
        problems.push(Problem::new(key, "give `body` or `chunks`, not both"));
        return None;
    }
    if r.trailers.is_some() && r.chunks.is_none() {
        problems.push(Problem::new(
            format!("{key}.trailers"),
            "trailers need `chunks`",
        ));
        return None;
    }
    Some(StaticResponse {
        status: r.status,
        headers: r.headers.0,
        body: r.body.unwrap_or_default(),
        chunks: r.chunks,
        trailers: r.trailers.unwrap_or_default().0,
    })
}
