;; A spawned thread spins forever in pure wasm while main waits for it
;; forever (memory.atomic.wait32): only the test's timeout ends it, and it
;; must stop both.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (func (export "wasi_thread_start") (param i32 i32)
    (loop $forever (br $forever)))
  (func (export "_start")
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    unreachable))
