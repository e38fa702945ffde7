//! The JSON Schema (draft 2020-12) of spec files, for editors: validation,
//! completion and hover text. It is built from the parser's own key lists
//! ([`LEGACY_KEYS`], [`OPERATION_FIELDS`], [`LIMIT_KEYS`], the feature names...),
//! so a key the parser learns without a schema here makes [`spec_schema`] panic
//! (and the tests fail) instead of drifting. `docs/spec.schema.json` is its
//! output, kept in sync by a test; `wasi-conform schema` prints it.
//!
//! The schema checks shape only: what lies on disk (fixtures, golden files),
//! the order of operations and the regular expressions are the parser's to judge.
//!
//! ```
//! let schema = wasi_conform::spec::schema::spec_schema();
//! assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
//! assert!(schema["$defs"]["limits"]["properties"]["fuel"].is_object());
//! ```

use serde_json::{Map, Value, json};

use super::http::{
    DEFAULT_METHOD, DEFAULT_PATH, DEFAULT_STATUS, ENDPOINT_KEYS, ENDPOINT_MODES,
    ENDPOINT_RESPONSE_KEYS, METHODS, RESPONSE_KEYS, SERVER_KEYS, SERVER_KINDS,
};
use super::{
    CLOCK_KEYS, DEFAULT_CLOCK_STEP_NS, DEFAULT_CONNECTION_ID, DEFAULT_KILL_SIGNAL, DIR_MOUNT_KEYS,
    FILE_CHECK_KINDS, INVOKE_EXCLUDES, INVOKE_KEYS, KILL_SIGNALS, LIMIT_KEYS, OPERATION_FIELDS,
    OPERATION_KEYS, PROPOSALS, PROTOCOL_TYPES, READ_STREAMS, SCHEMA_KEY, STREAM_MATCHER_KINDS,
    SpecForm, WASM_VALUE_WORDS, WORLDS, WRITE_STREAMS, operation_types, top_level_keys,
};

/// The JSON Schema dialect of the schema.
pub const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schema of a spec file.
pub fn spec_schema() -> Value {
    let operation_form: Vec<Value> = OPERATION_KEYS
        .iter()
        .map(|k| json!({"required": [k]}))
        .collect();
    json!({
        "$schema": DRAFT,
        "title": "wasi-conform test spec",
        "description": "The JSON spec beside a test module: the legacy (single-run) form, or the \
                        operation form when any of operations, proposals, world, servers is present.",
        "type": "object",
        "properties": properties(&all_keys(), top_level),
        "if": {"anyOf": operation_form},
        "then": {"$ref": "#/$defs/operationForm"},
        "else": {"$ref": "#/$defs/legacyForm"},
        "$defs": defs(),
    })
}

/// [`spec_schema`] as committed in `docs/spec.schema.json`: pretty-printed, with
/// a final newline.
pub fn spec_schema_text() -> String {
    let mut text =
        serde_json::to_string_pretty(&spec_schema()).expect("a JSON value always serialises");
    text.push('\n');
    text
}

/// Every top-level key of either form, each once.
fn all_keys() -> Vec<&'static str> {
    let mut keys = top_level_keys(SpecForm::Legacy);
    for key in top_level_keys(SpecForm::Operations) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

fn defs() -> Map<String, Value> {
    let mut defs = Map::new();
    defs.insert("legacyForm".into(), legacy_form());
    defs.insert("operationForm".into(), operation_form());
    for key in all_keys().into_iter().filter(|k| *k != SCHEMA_KEY) {
        defs.insert(key.into(), key_schema(key));
    }
    defs.insert("operation".into(), operation());
    for (ty, fields) in OPERATION_FIELDS {
        defs.insert(format!("op-{ty}"), operation_variant(ty, fields));
    }
    defs.insert("streamMatcher".into(), stream_matcher());
    defs.insert("fileExpectation".into(), file_expectation());
    defs.insert("dirMount".into(), dir_mount());
    defs.insert("wasmValue".into(), wasm_value());
    defs.insert("stringMap".into(), string_map("Names to string values."));
    defs.insert("server".into(), server());
    defs.insert("endpoint".into(), endpoint());
    defs.insert("endpointResponse".into(), endpoint_response());
    defs
}

/// `{"KEY": schema(KEY)}` for each key, in order.
fn properties(keys: &[&str], schema: impl Fn(&str) -> Value) -> Map<String, Value> {
    keys.iter().map(|k| (k.to_string(), schema(k))).collect()
}

/// A closed object: exactly these keys, each described by `field`.
fn object(description: &str, keys: &[&str], field: impl Fn(&str) -> Value) -> Value {
    json!({
        "type": "object",
        "description": description,
        "properties": properties(keys, field),
        "additionalProperties": false,
    })
}

fn reference(def: &str) -> Value {
    json!({"$ref": format!("#/$defs/{def}")})
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn string_or(description: &str, default: &str) -> Value {
    json!({"type": "string", "description": description, "default": default})
}

fn path(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description})
}

fn count(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "description": description})
}

fn one_of(values: &[&str], description: &str) -> Value {
    json!({"enum": values, "default": values[0], "description": description})
}

fn string_map(description: &str) -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}, "description": description})
}

fn http_status(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": u16::MAX, "default": DEFAULT_STATUS,
           "description": description})
}

/// A schema was asked for a key this module does not describe.
fn undescribed(what: &str) -> Value {
    panic!("{what} has no JSON Schema: describe it in src/spec/schema.rs")
}

/// A top-level key, as the root schema lists it.
fn top_level(key: &str) -> Value {
    if key == SCHEMA_KEY {
        return string(
            "Where editors find this schema (a URL or a relative path); ignored by wasi-conform.",
        );
    }
    reference(key)
}

/// The keys a form allows, for `additionalProperties: false` (their values are
/// described at the root).
fn form_keys(form: SpecForm) -> Map<String, Value> {
    properties(&top_level_keys(form), |_| Value::Bool(true))
}

fn required_any(keys: &[&str]) -> Value {
    let each: Vec<Value> = keys.iter().map(|k| json!({"required": [k]})).collect();
    json!({"anyOf": each})
}

fn legacy_form() -> Value {
    json!({
        "description": "One run: args, env, root, then the expected exit code (or trap), streams and files.",
        "properties": form_keys(SpecForm::Legacy),
        "additionalProperties": false,
        "not": {"required": ["trap", "exit_code"]},
        "dependentRequired": {"result": ["invoke"]},
        "dependentSchemas": {"invoke": {"not": required_any(INVOKE_EXCLUDES)}},
    })
}

fn operation_form() -> Value {
    json!({
        "description": "A list of operations driving the running guest; legacy keys are not allowed.",
        "properties": form_keys(SpecForm::Operations),
        "additionalProperties": false,
    })
}

/// The schema of one top-level key.
fn key_schema(key: &str) -> Value {
    match key {
        "args" => json!({"type": "array", "items": {"type": "string"}, "default": [],
            "description": "Arguments after argv[0] (the module's file name)."}),
        "env" => json!({"type": "object", "additionalProperties": {"type": "string"},
            "propertyNames": {"minLength": 1, "pattern": "^[^=]*$"}, "default": {},
            "description": "The guest's whole environment; nothing of the host's leaks in."}),
        "root" => path(
            "Fixture directory (relative to the spec, inside the suite) preopened as `/`, as a temporary copy.",
        ),
        "exit_code" => json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX,
            "default": 0, "description": "The exit code the run must end with."}),
        "stdout" | "stderr" => stream_key(key),
        "stdin" => json!({"oneOf": [{"type": "string"}, file_ref("A file of the suite")],
            "default": "", "description": "The guest's whole stdin, then EOF: text, or {\"file\": PATH}."}),
        "trap" => string(
            "The run must trap (or hit a limit) with a message containing this text; not with exit_code.",
        ),
        "invoke" => invoke(),
        "result" => json!({"type": "array", "items": reference("wasmValue"),
            "description": "The values the invoked function must return."}),
        _ => extension_schema(key),
    }
}

/// The schema of one top-level key shared by both forms, or of the operation form.
fn extension_schema(key: &str) -> Value {
    match key {
        "dirs" => json!({"type": "array", "default": [],
            "items": {"anyOf": [path("A fixture directory beside the spec, preopened under its own name."),
                                reference("dirMount")]},
            "description": "More preopened directories (temporary copies), for every run."}),
        "features" => features(),
        "clock" => clock(),
        "random_seed" => count(
            "Seed of one deterministic generator behind the secure and insecure random sources.",
        ),
        "timeout_ms" => json!({"type": "integer", "minimum": 1,
            "default": crate::run::DEFAULT_TIMEOUT.as_millis() as u64,
            "description": "Wall-clock limit of the whole test in milliseconds (compilation excluded)."}),
        "limits" => object(
            "Resource limits; an absent one takes the harness default.",
            LIMIT_KEYS,
            limit,
        ),
        "files" => json!({"type": "object", "propertyNames": {"pattern": "^/"},
            "additionalProperties": reference("fileExpectation"),
            "description": "Absolute guest paths and what each must be after the last run."}),
        "debug" => json!({"type": "boolean", "default": false,
            "description": "Ask for diagnostics: the embedded runtime shows the test's trace of host calls even when it passes; an external runtime gets DEBUG=true. Never changes the guest's view."}),
        _ => operation_form_key(key),
    }
}

fn operation_form_key(key: &str) -> Value {
    match key {
        "operations" => json!({"type": "array", "minItems": 1, "items": reference("operation"),
            "default": [{"type": "run"}, {"type": "wait"}],
            "description": format!("The steps, in order: {}.", operation_types().join(", "))}),
        "proposals" => json!({"type": "array", "items": {"enum": PROPOSALS}, "default": [],
            "description": "WASI proposals the test needs; any of them opens loopback networking."}),
        "world" => one_of(WORLDS, "The world the module implements."),
        "servers" => json!({"type": "array", "items": reference("server"), "default": [],
            "description": "HTTP servers the harness hosts; each address is given as env var HTTP_SERVER_<NAME>."}),
        other => undescribed(&format!("spec key `{other}`")),
    }
}

fn stream_key(stream: &str) -> Value {
    json!({"$ref": "#/$defs/streamMatcher",
        "description": format!("The whole {stream} of the run; unchecked when absent, unless a golden file exists.")})
}

/// `{"file": PATH}`.
fn file_ref(what: &str) -> Value {
    json!({"type": "object", "required": ["file"], "additionalProperties": false,
        "properties": {"file": path(&format!("{what}, relative to the spec's directory."))}})
}

fn features() -> Value {
    let names: Vec<&str> = crate::features::Feature::ALL
        .iter()
        .map(|f| f.name())
        .collect();
    json!({"type": "array", "items": {"enum": names}, "default": [],
        "description": "Wasm proposals to enable, named as wasmtime's -W flags (added to the manifest's)."})
}

fn clock() -> Value {
    object(
        "Deterministic clocks: wall starts at `wall`, monotonic at 0; each reading advances by step_ns.",
        CLOCK_KEYS,
        |field| match field {
            "wall" => json!({"anyOf": [{"type": "string", "format": "date-time"},
                                       {"type": "integer", "minimum": 0}],
                "default": 0,
                "description": "Start of the wall clock: an RFC 3339 UTC time ending in Z, or nanoseconds since the epoch."}),
            "step_ns" => json!({"type": "integer", "minimum": 0, "default": DEFAULT_CLOCK_STEP_NS,
                "description": "Nanoseconds either clock advances at each reading."}),
            other => undescribed(&format!("clock.{other}")),
        },
    )
}

fn limit(name: &str) -> Value {
    use crate::run::{
        DEFAULT_DISK_BYTES, DEFAULT_MEMORY_BYTES, DEFAULT_OPEN_FILES, DEFAULT_OUTPUT_BYTES,
    };
    let (default, description) = match name {
        "memory_bytes" => (DEFAULT_MEMORY_BYTES, "Linear memory the guest may grow to."),
        "output_bytes" => (
            DEFAULT_OUTPUT_BYTES,
            "Bytes kept of each output stream; the rest is dropped.",
        ),
        "open_files" => (DEFAULT_OPEN_FILES, "Files the guest may hold open at once."),
        "disk_bytes" => (
            DEFAULT_DISK_BYTES,
            "Bytes the preopened directories may grow by.",
        ),
        "fuel" => return count("Executed-instruction budget (unlimited when absent)."),
        other => return undescribed(&format!("limits.{other}")),
    };
    json!({"type": "integer", "minimum": 0, "default": default, "description": description})
}

fn invoke() -> Value {
    let mut schema = object(
        "Call this export instead of `_start` (args and env are not allowed beside it).",
        INVOKE_KEYS,
        |field| match field {
            "func" => path("The exported function's name."),
            "args" => json!({"type": "array", "items": reference("wasmValue"), "default": [],
                "description": "The arguments, one per parameter."}),
            other => undescribed(&format!("invoke.{other}")),
        },
    );
    schema["required"] = json!(["func"]);
    schema
}

fn wasm_value() -> Value {
    json!({"type": ["number", "string"],
        "description": format!("A wasm number: a JSON number, or a string holding an integer, a float or one of {}.",
                               WASM_VALUE_WORDS.join(", "))})
}

/// `{KIND: VALUE}` objects with exactly one key, one per kind.
fn single_key_objects(kinds: &[&str], value: impl Fn(&str) -> Value) -> Vec<Value> {
    kinds
        .iter()
        .map(|kind| {
            json!({"type": "object", "required": [kind], "additionalProperties": false,
                   "properties": {*kind: value(kind)}})
        })
        .collect()
}

fn stream_matcher() -> Value {
    let mut choices = vec![string("Exactly this text, the whole stream.")];
    choices.extend(single_key_objects(STREAM_MATCHER_KINDS, matcher_value));
    json!({"oneOf": choices, "description": "Exact text, or one of contains, regex, file."})
}

/// The value of a `contains`/`regex`/`file` check, as streams and files share them.
fn matcher_value(kind: &str) -> Value {
    match kind {
        "contains" => string("The text must occur somewhere."),
        // Rust `regex` syntax, not ECMA 262's, so no `"format": "regex"`.
        "regex" => string("A regular expression (Rust regex syntax) the whole content must match."),
        "file" => {
            path("A golden file (relative to the spec) the content must equal; bless writes it.")
        }
        other => undescribed(&format!("matcher `{other}`")),
    }
}

fn file_expectation() -> Value {
    let mut choices = vec![
        string("Exactly this content."),
        json!({"type": "null", "description": "The file must not exist."}),
    ];
    choices.extend(single_key_objects(FILE_CHECK_KINDS, |kind| match kind {
        "sha256" => json!({"type": "string", "pattern": "^[0-9a-fA-F]{64}$",
            "description": "The SHA-256 of the content, in hex."}),
        "size" => count("The size in bytes."),
        "exists" => json!({"const": true, "description": "It exists, as anything."}),
        other => matcher_value(other),
    }));
    json!({"oneOf": choices,
        "description": "Exact content, null (absent), or one of contains, regex, file, sha256, size, exists."})
}

fn dir_mount() -> Value {
    let mut schema = object(
        "A fixture preopened at a guest path.",
        DIR_MOUNT_KEYS,
        |field| match field {
            "host" => path("The fixture directory, relative to the spec, inside the suite."),
            "guest" => json!({"type": "string", "pattern": "^/",
                "description": "The absolute guest path it is preopened at."}),
            "readonly" => json!({"type": "boolean", "default": false,
                "description": "Grant read permissions only."}),
            other => undescribed(&format!("dirs[].{other}")),
        },
    );
    schema["required"] = json!(["host", "guest"]);
    schema
}

/// An operation: its `type` picks one of the `op-TYPE` schemas.
fn operation() -> Value {
    let types = operation_types();
    let variants: Vec<Value> = types
        .iter()
        .map(|ty| {
            json!({"if": {"properties": {"type": {"const": ty}}, "required": ["type"]},
                   "then": reference(&format!("op-{ty}"))})
        })
        .collect();
    json!({
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": types, "description": "What the step does."}},
        "allOf": variants,
    })
}

fn operation_variant(ty: &str, fields: &[&str]) -> Value {
    let mut schema = object(operation_description(ty), fields, |f| {
        operation_field(ty, f)
    });
    match ty {
        "wait" => schema["not"] = json!({"required": ["trap", "exit_code"]}),
        "send" | "recv" => schema["required"] = json!(["type", "id"]),
        _ => {}
    }
    schema
}

fn operation_description(ty: &str) -> &'static str {
    match ty {
        "run" => "Start the module (after the previous run's wait).",
        "write" => "Write to the guest's stdin (closed at the next wait).",
        "read" => "Wait for exactly as many bytes as the payload has on a stream, and compare.",
        "wait" => "Close stdin, wait for the guest to end, and compare how it ended.",
        "connect" => "Read the host:port line the guest prints on stdout and connect to it.",
        "send" => "Send the payload over a connection.",
        "recv" => "Receive as many bytes as the payload has over a connection, and compare.",
        "request" => "Send an HTTP request to the served component and compare the response.",
        "kill" => "Stop the running guest.",
        other => {
            panic!("operation `{other}` has no JSON Schema: describe it in src/spec/schema.rs")
        }
    }
}

fn operation_field(ty: &str, field: &str) -> Value {
    match (ty, field) {
        (_, "type") => json!({"const": ty}),
        ("run", key) | ("wait", key) => reference(key),
        ("write", "id") => one_of(WRITE_STREAMS, "The stream written to."),
        ("read", "id") => one_of(READ_STREAMS, "The stream read from."),
        ("connect", "id") => string_or(
            "The connection's name, for send and recv.",
            DEFAULT_CONNECTION_ID,
        ),
        ("connect", "protocol_type") => one_of(
            PROTOCOL_TYPES,
            "The protocol: tcp, udp, or http (a TCP connection; HTTP is the payload).",
        ),
        ("send" | "recv", "id") => string("The connection, named by an earlier connect."),
        (_, "payload") => string_or("The bytes, as text.", ""),
        ("kill", "signal") => json!({
            "type": "string",
            "pattern": format!("^(SIG)?({})$", KILL_SIGNALS.join("|")),
            "default": DEFAULT_KILL_SIGNAL,
            "description": "The signal sent to an external runtime's process (the embedded one just stops).",
        }),
        ("request", _) => request_field(field),
        _ => undescribed(&format!("operation `{ty}` key `{field}`")),
    }
}

fn request_field(field: &str) -> Value {
    match field {
        "method" => string_or("The request method (any case).", DEFAULT_METHOD),
        "path" => string_or("The request path.", DEFAULT_PATH),
        "headers" => string_map("Request headers."),
        "body" => string_or("The request body.", ""),
        "response" => object(
            "The expected response: status, the listed headers, and the body.",
            RESPONSE_KEYS,
            |f| match f {
                "status" => http_status("The expected status."),
                "headers" => string_map("Headers the response must hold (others are not checked)."),
                "body" => string_or("The expected body, exactly.", ""),
                other => undescribed(&format!("request response key `{other}`")),
            },
        ),
        other => undescribed(&format!("request key `{other}`")),
    }
}

fn server() -> Value {
    let mut schema = object(
        "An HTTP server the harness hosts on loopback.",
        SERVER_KEYS,
        |field| match field {
            "name" => json!({"type": "string", "pattern": "^[A-Za-z0-9_]+$",
                "description": "Its name: the guest finds its address in HTTP_SERVER_<NAME> (upper case)."}),
            "kind" => one_of(
                SERVER_KINDS,
                "listening, or closed: an address where nothing listens.",
            ),
            "endpoints" => json!({"type": "array", "items": reference("endpoint"), "default": [],
                "description": "What it answers (not for a closed server)."}),
            other => undescribed(&format!("servers[].{other}")),
        },
    );
    schema["required"] = json!(["name"]);
    schema["if"] = json!({"properties": {"kind": {"const": "closed"}}, "required": ["kind"]});
    schema["then"] = json!({"not": {"required": ["endpoints"]}});
    schema
}

/// A pattern matching `word` in any case.
fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| match (c.to_ascii_uppercase(), c.to_ascii_lowercase()) {
            (u, l) if u != l => format!("[{u}{l}]"),
            _ => c.to_string(),
        })
        .collect()
}

fn endpoint() -> Value {
    let methods: Vec<String> = METHODS.iter().map(|m| any_case(m)).collect();
    let mut schema = object(
        "One endpoint of a hosted server.",
        ENDPOINT_KEYS,
        |field| match field {
            "method" => json!({"anyOf": [{"enum": METHODS},
                                         {"type": "string", "pattern": format!("^({})$", methods.join("|"))}],
                "default": DEFAULT_METHOD, "description": "The method it answers (any case)."}),
            "path" => string_or("The path it answers.", DEFAULT_PATH),
            "mode" => one_of(
                ENDPOINT_MODES,
                "static (the response), echo-body or echo-headers.",
            ),
            "response" => json!({"anyOf": [{"type": "string"}, reference("endpointResponse")],
                "default": "", "description": "A static endpoint's answer: a body, or an object."}),
            other => undescribed(&format!("endpoint key `{other}`")),
        },
    );
    schema["if"] =
        json!({"properties": {"mode": {"enum": &ENDPOINT_MODES[1..]}}, "required": ["mode"]});
    schema["then"] = json!({"not": {"required": ["response"]}});
    schema
}

fn endpoint_response() -> Value {
    let mut schema = object(
        "A static endpoint's response.",
        ENDPOINT_RESPONSE_KEYS,
        |field| match field {
            "status" => http_status("The status."),
            "headers" => string_map("Response headers."),
            "body" => string_or("The body (not with chunks).", ""),
            "chunks" => json!({"type": "array", "items": {"type": "string"},
                "description": "The body sent in chunks (chunked transfer encoding)."}),
            "trailers" => string_map("Trailers sent after the chunks (needs chunks)."),
            other => undescribed(&format!("endpoint response key `{other}`")),
        },
    );
    schema["not"] = json!({"required": ["body", "chunks"]});
    schema["dependentRequired"] = json!({"trailers": ["chunks"]});
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_the_parser_is_described() {
        let schema = spec_schema();
        for key in all_keys() {
            assert!(schema["properties"][key].is_object(), "{key}");
        }
        let types = schema["$defs"]["operation"]["properties"]["type"]["enum"].clone();
        assert_eq!(types, json!(operation_types()));
        for (ty, fields) in OPERATION_FIELDS {
            let props = &schema["$defs"][format!("op-{ty}")]["properties"];
            assert_eq!(props.as_object().unwrap().len(), fields.len(), "{ty}");
        }
        let features = &schema["$defs"]["features"]["items"]["enum"];
        assert_eq!(
            features.as_array().unwrap().len(),
            crate::features::Feature::ALL.len()
        );
    }

    #[test]
    fn methods_match_in_any_case() {
        assert_eq!(any_case("GET"), "[Gg][Ee][Tt]");
    }

    #[test]
    fn the_text_ends_with_a_newline_and_parses() {
        let text = spec_schema_text();
        assert!(text.ends_with("}\n"));
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), spec_schema());
    }
}
