//! The operation form's `operations`: each into an [`Operation`], then the
//! contract's ordering rules over the list.

use super::Validator;
use crate::spec::http::RequestOp;
use crate::spec::{KILL_SIGNALS, Operation, is_kill_signal, raw};

impl Validator<'_> {
    /// The operations in order; `None` for one that is invalid (its problem is recorded).
    pub(super) fn operations(&mut self, ops: Vec<raw::Operation>) -> Vec<Operation> {
        if ops.is_empty() {
            self.problem(
                "operations",
                "the list is empty, so nothing would run; add a `run` and a `wait`",
            );
            return Vec::new();
        }
        let before = self.problems.len();
        let ops: Vec<Operation> = ops
            .into_iter()
            .enumerate()
            .filter_map(|(i, op)| self.operation(i, op))
            .collect();
        // The order is judged on the whole list, so only when every operation is valid.
        if self.problems.len() == before {
            self.check_order(&ops);
        }
        ops
    }

    fn operation(&mut self, index: usize, op: raw::Operation) -> Option<Operation> {
        let key = format!("operations[{index}]");
        Some(match op {
            raw::Operation::Run { args, env, root } => {
                Operation::Run(self.run(Some(args), Some(env), root, &format!("{key}.")))
            }
            raw::Operation::Write { id, payload } => Operation::Write {
                id: match id {
                    raw::InputStream::Stdin => "stdin".to_string(),
                },
                payload,
            },
            raw::Operation::Read { id, payload } => Operation::Read { id, payload },
            raw::Operation::Wait { exit_code, trap } => {
                Operation::Wait(self.exit_expectation(exit_code, trap, &format!("{key}."))?)
            }
            raw::Operation::Connect { id, protocol_type } => Operation::Connect {
                id,
                protocol: protocol_type.as_str().to_string(),
            },
            raw::Operation::Send { id, payload } => Operation::Send { id, payload },
            raw::Operation::Recv { id, payload } => Operation::Recv { id, payload },
            raw::Operation::Request(request) => Operation::Request(RequestOp::from_raw(request)),
            raw::Operation::Kill { signal } => {
                if !is_kill_signal(&signal) {
                    self.problem(
                        format!("{key}.signal"),
                        format!(
                            "unknown signal `{signal}` (known, with or without `SIG`: {})",
                            KILL_SIGNALS.join(", ")
                        ),
                    );
                    return None;
                }
                Operation::Kill { signal }
            }
        })
    }

    /// The contract's ordering rules: every `run` is followed by a `wait`; the
    /// other operations come between them; connection ids are unique per run
    /// and `send`/`recv` name a defined one.
    fn check_order(&mut self, ops: &[Operation]) {
        let mut running = false;
        let mut connections: Vec<&str> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let key = format!("operations[{i}]");
            match op {
                Operation::Run(_) if running => self.problem(
                    key,
                    "`run` while the previous run is still going: add a `wait` before it",
                ),
                Operation::Run(_) => {
                    running = true;
                    connections.clear();
                }
                Operation::Wait(_) if !running => {
                    self.problem(key, "`wait` without a `run` before it")
                }
                Operation::Wait(_) => running = false,
                other if !running => self.problem(
                    key,
                    format!(
                        "`{}` must come after a `run` (and before its `wait`)",
                        other.kind()
                    ),
                ),
                Operation::Connect { id, .. } if connections.contains(&id.as_str()) => self
                    .problem(
                        format!("{key}.id"),
                        format!("connection id `{id}` is already defined"),
                    ),
                Operation::Connect { id, .. } => connections.push(id),
                Operation::Send { id, .. } | Operation::Recv { id, .. }
                    if !connections.contains(&id.as_str()) =>
                {
                    self.problem(
                        format!("{key}.id"),
                        format!("no connection `{id}`: add a `connect` with this id first"),
                    )
                }
                _ => {}
            }
        }
        if running {
            self.problem(
                format!("operations[{}]", ops.len() - 1),
                "the last `run` has no `wait` after it",
            );
        }
    }
}
