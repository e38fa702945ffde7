//! Tracing a component's WASI 0.2/0.3 calls.
//!
//! wasmtime-wasi's (and wasmtime-wasi-io's, wasmtime-wasi-http's) bindings are
//! generated with `tracing` on every import: each host call opens a
//! `wit-bindgen import` span (fields `module`, `function`) and emits a TRACE
//! event with its arguments (`"call"`) and one with its result (`"return"`).
//! [`ComponentTracer`] is a `tracing` subscriber, one per guest, attached to
//! that guest's future only (`WithSubscriber`): it is the default subscriber
//! while the future is polled, so it sees that guest's calls and no other
//! test's, and it records them into the guest's [`Trace`].
//!
//! Why a subscriber and not wrappers as for preview 1: the 0.2/0.3 linkers hold
//! hundreds of functions over resources and streams, defined by generated code
//! whose per-function entry points are not public; the events carry the same
//! information (arguments and results, `Debug`-formatted, strings included;
//! lists are elided by the bindings as `"..."`). The subscriber is interested
//! in those callsites only, so other `tracing` callsites (wasmtime-wasi's
//! preview 1 spans among them) stay disabled.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use super::GuestFuture;
use crate::check::GuestEnd;
use crate::trace::{self, Api, Call, Outcome, TraceHandle, Value};

/// A guest's future, with its calls traced into `trace` when there is one.
pub(super) fn traced(
    future: impl Future<Output = GuestEnd> + Send + 'static,
    trace: Option<TraceHandle>,
) -> GuestFuture {
    use tracing::instrument::WithSubscriber as _;
    match trace {
        Some(trace) => Box::pin(future.with_subscriber(ComponentTracer::new(trace))),
        None => Box::pin(future),
    }
}

/// The span the generated bindings open per host call.
const IMPORT_SPAN: &str = "wit-bindgen import";

/// One guest's subscriber.
pub(super) struct ComponentTracer {
    trace: TraceHandle,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    spans: HashMap<u64, SpanInfo>,
    /// Entered spans, innermost last.
    stack: Vec<u64>,
    /// Interned API names.
    apis: HashMap<String, Arc<str>>,
}

struct SpanInfo {
    api: Api,
    func: Cow<'static, str>,
    refs: usize,
    /// The call's sequence number in the trace, once its `call` event came.
    seq: Option<u64>,
}

impl ComponentTracer {
    pub(super) fn new(trace: TraceHandle) -> ComponentTracer {
        ComponentTracer {
            trace,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn max(&self) -> usize {
        trace::lock(&self.trace).limits.string_bytes
    }
}

/// Whether a callsite is one of the generated WASI bindings'.
fn interesting(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    (target.starts_with("wasmtime_wasi") && target.contains("::bindings"))
        || (cfg!(test) && target.contains("::fake_binding::"))
}

/// `wasi:filesystem/types@0.2` from the generated module's path
/// (`wasmtime_wasi::p2::bindings::async_io::wasi::filesystem::types`) and the
/// span's `module` field; 0.3 when the path is under a `p3` module.
pub fn api_name(target: &str, module: &str) -> String {
    let version = if target.contains("::p3::") {
        "0.3"
    } else {
        "0.2"
    };
    let parts: Vec<&str> = target.split("::").collect();
    match parts.iter().rposition(|p| *p == "wasi") {
        // Rust module names: `monotonic_clock` for `monotonic-clock`.
        Some(i) if i + 2 < parts.len() => format!(
            "wasi:{}/{}@{version}",
            parts[i + 1].replace('_', "-"),
            parts[i + 2].replace('_', "-")
        ),
        _ => format!("wasi:?/{module}@{version}"),
    }
}

/// Collects an event's or span's fields, each value cut at `max` bytes.
struct Fields {
    max: usize,
    message: String,
    module: String,
    function: String,
    values: Vec<(&'static str, Value)>,
}

impl Fields {
    fn new(max: usize) -> Fields {
        Fields {
            max,
            message: String::new(),
            module: String::new(),
            function: String::new(),
            values: Vec::new(),
        }
    }
}

/// A `fmt::Write` that keeps at most `max` bytes and then stops the formatting.
struct Bounded {
    text: String,
    max: usize,
    cut: bool,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.max.saturating_sub(self.text.len());
        let (kept, cut) = trace::cut_str(s, room);
        self.text.push_str(kept);
        if cut {
            self.cut = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

fn bounded(value: &dyn fmt::Debug, max: usize) -> String {
    let mut w = Bounded {
        text: String::new(),
        max,
        cut: false,
    };
    let _ = write!(w, "{value:?}");
    if let Some(at) = w.text.find("\nStack backtrace:") {
        // An error's captured backtrace (when RUST_BACKTRACE is set): noise here.
        w.text.truncate(at);
        let open = w.text.matches('(').count();
        let closed = w.text.matches(')').count();
        w.text.push_str(&")".repeat(open.saturating_sub(closed)));
    } else if w.cut {
        w.text.push('…');
    }
    w.text
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "module" => self.module = value.to_string(),
            "function" => self.function = value.to_string(),
            name => self.values.push((name, Value::string(value, self.max))),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = bounded(value, self.max);
        match field.name() {
            "message" => self.message = text,
            "module" => self.module = text,
            "function" => self.function = text,
            name => self.values.push((name, Value::Text(text.into()))),
        }
    }
}

impl Subscriber for ComponentTracer {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if interesting(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        interesting(meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut state = self.state();
        state.next_id += 1;
        let id = state.next_id;
        if attrs.metadata().name() == IMPORT_SPAN {
            let mut fields = Fields::new(self.max());
            attrs.record(&mut fields);
            let name = api_name(attrs.metadata().target(), &fields.module);
            let api = state
                .apis
                .entry(name)
                .or_insert_with_key(|k| Arc::from(k.as_str()))
                .clone();
            let info = SpanInfo {
                api: Api::Wit(api),
                func: fields.function.into(),
                refs: 1,
                seq: None,
            };
            state.spans.insert(id, info);
        }
        Id::from_u64(id)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::new(self.max());
        event.record(&mut fields);
        let mut state = self.state();
        let Some(&current) = state.stack.last() else {
            return;
        };
        let Some(info) = state.spans.get_mut(&current) else {
            return;
        };
        let mut trace = trace::lock(&self.trace);
        match fields.message.as_str() {
            "call" => {
                let call = Call::new(info.api.clone(), info.func.clone(), fields.values);
                info.seq = Some(trace.begin(call));
            }
            "return" => {
                let Some(seq) = info.seq.take() else { return };
                let result = fields
                    .values
                    .into_iter()
                    .find(|(n, _)| *n == "result")
                    .map(|(_, v)| v);
                let outcome = match result {
                    Some(Value::Text(t)) => Outcome::Returned(t),
                    _ => Outcome::Done,
                };
                trace.end_named(seq, &info.api, info.func.clone(), outcome, Vec::new());
            }
            _ => {}
        }
    }

    fn enter(&self, span: &Id) {
        self.state().stack.push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut state = self.state();
        if let Some(pos) = state.stack.iter().rposition(|s| *s == span.into_u64()) {
            state.stack.remove(pos);
        }
    }

    fn clone_span(&self, span: &Id) -> Id {
        if let Some(info) = self.state().spans.get_mut(&span.into_u64()) {
            info.refs += 1;
        }
        span.clone()
    }

    fn try_close(&self, span: Id) -> bool {
        let mut state = self.state();
        let id = span.into_u64();
        let Some(info) = state.spans.get_mut(&id) else {
            return true;
        };
        info.refs = info.refs.saturating_sub(1);
        if info.refs == 0 {
            state.spans.remove(&id);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names_from_module_paths() {
        assert_eq!(
            api_name(
                "wasmtime_wasi::p2::bindings::async_io::wasi::filesystem::types",
                "types"
            ),
            "wasi:filesystem/types@0.2"
        );
        assert_eq!(
            api_name("wasmtime_wasi::p3::bindings::wasi::cli::stdin", "stdin"),
            "wasi:cli/stdin@0.3"
        );
        assert_eq!(
            api_name("wasmtime_wasi_io::bindings::wasi::io::streams", "streams"),
            "wasi:io/streams@0.2"
        );
        assert_eq!(api_name("elsewhere", "x"), "wasi:?/x@0.2");
        assert_eq!(
            api_name(
                "wasmtime_wasi::p3::bindings::wasi::clocks::monotonic_clock",
                "monotonic-clock"
            ),
            "wasi:clocks/monotonic-clock@0.3"
        );
    }

    #[test]
    fn values_are_cut_while_formatting() {
        let long = "x".repeat(10_000);
        let text = bounded(&long, 20);
        assert_eq!(text.chars().count(), 21, "{text}");
        assert!(text.ends_with('…'));
        assert_eq!(bounded(&3, 20), "3");
        struct WithBacktrace;
        impl fmt::Debug for WithBacktrace {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Err(ErrorCode::NoEntry\nStack backtrace:\n   0: x\n   1: y)")
            }
        }
        assert_eq!(bounded(&WithBacktrace, 200), "Err(ErrorCode::NoEntry)");
    }

    #[test]
    fn records_the_calls_of_its_own_future_only() {
        use tracing::instrument::WithSubscriber;
        let slot = trace::handle(Default::default(), Default::default());
        let tracer = ComponentTracer::new(slot.clone());
        let fut = async {
            // As the generated bindings do (same target shape, span and events).
            fake_binding::open_at("a.txt").await;
        };
        futures::executor::block_on(fut.with_subscriber(tracer));
        futures::executor::block_on(fake_binding::open_at("not traced"));
        let t = trace::lock(&slot);
        let calls: Vec<String> = t.kept().map(|c| c.line()).collect();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(
            calls[0].contains("wasi:filesystem/types@0.2 [method]descriptor.open-at(path=\"a.txt\") -> Ok(Err(NoEntry))"),
            "{calls:?}"
        );
        let stats = t.stats();
        let s = &stats[&(
            "wasi:filesystem/types@0.2".to_string(),
            "[method]descriptor.open-at".to_string(),
        )];
        assert_eq!(s.results["err(NoEntry)"], 1);
    }
}

/// Stands in for generated bindings in tests: its module path has the
/// generated code's shape.
#[cfg(test)]
mod fake_binding {
    pub mod bindings {
        pub mod wasi {
            pub mod filesystem {
                pub mod types {
                    use tracing::Instrument;
                    pub async fn open_at(path: &str) {
                        let span = tracing::span!(
                            tracing::Level::TRACE,
                            "wit-bindgen import",
                            module = "types",
                            function = "[method]descriptor.open-at",
                        );
                        async move {
                            tracing::event!(tracing::Level::TRACE, path = path, "call");
                            let r: Result<Result<u32, &str>, ()> = Ok(Err("NoEntry"));
                            let r = r.map(|x| x.map_err(NoEntry::from));
                            tracing::event!(
                                tracing::Level::TRACE,
                                result = tracing::field::debug(&r),
                                "return"
                            );
                        }
                        .instrument(span)
                        .await
                    }

                    #[derive(Debug)]
                    pub struct NoEntry;
                    impl From<&str> for NoEntry {
                        fn from(_: &str) -> NoEntry {
                            NoEntry
                        }
                    }
                }
            }
        }
    }
    pub use bindings::wasi::filesystem::types::open_at;
}
