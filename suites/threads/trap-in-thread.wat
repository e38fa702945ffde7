;; A spawned thread traps (`unreachable`, one call deep) while main waits
;; forever: the trap ends the whole program, with the thread's backtrace.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (func $fail unreachable)
  (func (export "wasi_thread_start") (param i32 i32)
    (call $fail))
  (func (export "_start")
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))
