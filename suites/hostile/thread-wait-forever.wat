;; Main and a spawned thread both park in memory.atomic.wait32 with no
;; timeout, at addresses no one notifies: only the test's timeout ends it,
;; and it must stop both (a waiter cannot be interrupted by a signal or an
;; epoch, only by a notify).
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (func (export "wasi_thread_start") (param i32 i32)
    (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
    unreachable)
  (func (export "_start")
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (drop (memory.atomic.wait64 (i32.const 65528) (i64.const 0) (i64.const -1)))
    unreachable))
