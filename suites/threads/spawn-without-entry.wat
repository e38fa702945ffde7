;; Imports thread-spawn but exports no `wasi_thread_start`: every spawn must
;; fail with a negative value (not crash the program). Exits 0 if so.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (func (export "_start")
    (if (i32.ge_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (if (i32.ge_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))))
