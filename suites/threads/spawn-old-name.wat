;; Spawns through `wasi`/`thread_spawn`, the name of early versions of the
;; proposal, and joins the thread through memory. Exits 0.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread_spawn" (func $spawn (param i32) (result i32)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (i32.atomic.store (i32.const 0) (local.get $arg))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start")
    (if (i32.le_s (call $spawn (i32.const 42)) (i32.const 0)) (then unreachable))
    (loop $join
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $join))))
    (if (i32.ne (i32.atomic.load (i32.const 0)) (i32.const 42)) (then unreachable))))
