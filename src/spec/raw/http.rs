//! The HTTP keys of a spec file as serde types: a `request` operation with the
//! response it expects, and the `servers` the harness hosts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StringMap;
use crate::spec::http::{DEFAULT_METHOD, DEFAULT_PATH, DEFAULT_STATUS, METHODS};

/// A `request` operation: an HTTP request to the served component.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct Request {
    /// The request method (any case).
    #[serde(default = "default_method")]
    pub method: String,
    /// The request path.
    #[serde(default = "default_path")]
    pub path: String,
    /// Request headers.
    #[serde(default)]
    pub headers: StringMap,
    /// The request body.
    #[serde(default)]
    pub body: String,
    /// The expected response: status, the listed headers, and the body.
    #[serde(default)]
    pub response: Response,
}

/// The response a `request` expects.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct Response {
    /// The expected status.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Headers the response must hold (others are not checked).
    #[serde(default)]
    pub headers: StringMap,
    /// The expected body, exactly.
    #[serde(default)]
    pub body: String,
}

impl Default for Response {
    fn default() -> Response {
        Response {
            status: DEFAULT_STATUS,
            headers: StringMap::default(),
            body: String::new(),
        }
    }
}

/// An HTTP server the harness hosts on loopback.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "if" = {"properties": {"kind": {"const": "closed"}}, "required": ["kind"]},
    "then" = {"not": {"required": ["endpoints"]}},
))]
#[schemars(title = "server", transform = crate::spec::schema::key_order::<Self>)]
pub struct Server {
    /// Its name: the guest finds its address in HTTP_SERVER_<NAME> (upper case).
    #[schemars(regex(pattern = r"^[A-Za-z0-9_]+$"))]
    pub name: String,
    /// listening, or closed: an address where nothing listens.
    #[serde(default)]
    pub kind: ServerKind,
    /// What it answers (not for a closed server).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = []))]
    pub endpoints: Option<Vec<Endpoint>>,
}

/// Whether a hosted server listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    #[default]
    Listening,
    Closed,
}

/// One endpoint of a hosted server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "if" = {"properties": {"mode": {"enum": ["echo-body", "echo-headers"]}}, "required": ["mode"]},
    "then" = {"not": {"required": ["response"]}},
))]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct Endpoint {
    /// The method it answers (any case).
    #[serde(default = "default_method")]
    #[schemars(extend("pattern" = any_case_methods()))]
    pub method: String,
    /// The path it answers.
    #[serde(default = "default_path")]
    pub path: String,
    /// static (the response), echo-body or echo-headers.
    #[serde(default)]
    pub mode: EndpointMode,
    /// A static endpoint's answer: a body, or an object.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub response: Option<EndpointResponse>,
}

/// How an endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointMode {
    /// With its `response`.
    #[default]
    Static,
    /// With the request's body.
    EchoBody,
    /// With the request's method, path, headers and trailers as headers.
    EchoHeaders,
}

/// A static endpoint's answer: a body, or an object.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum EndpointResponse {
    /// The body (status 200, no headers).
    Body(String),
    Full(StaticResponse),
}

/// A static endpoint's response.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "not" = {"required": ["body", "chunks"]},
    "dependentRequired" = {"trailers": ["chunks"]},
))]
#[schemars(transform = crate::spec::schema::key_order::<Self>)]
pub struct StaticResponse {
    /// The status.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Response headers.
    #[serde(default)]
    pub headers: StringMap,
    /// The body (not with chunks).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub body: Option<String>,
    /// The body sent in chunks (chunked transfer encoding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Vec<String>>,
    /// Trailers sent after the chunks (needs chunks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trailers: Option<StringMap>,
}

fn default_method() -> String {
    DEFAULT_METHOD.to_string()
}

fn default_path() -> String {
    DEFAULT_PATH.to_string()
}

fn default_status() -> u16 {
    DEFAULT_STATUS
}

/// `^([Gg][Ee][Tt]|...)$`: the methods an endpoint may answer, in any case.
fn any_case_methods() -> String {
    let any_case = |word: &str| -> String {
        word.chars()
            .map(|c| match (c.to_ascii_uppercase(), c.to_ascii_lowercase()) {
                (u, l) if u != l => format!("[{u}{l}]"),
                _ => c.to_string(),
            })
            .collect()
    };
    let methods: Vec<String> = METHODS.iter().map(|m| any_case(m)).collect();
    format!("^({})$", methods.join("|"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn methods_match_in_any_case() {
        assert!(super::any_case_methods().starts_with("^([Gg][Ee][Tt]|"));
    }
}
