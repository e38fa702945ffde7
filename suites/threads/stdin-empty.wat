;; The spec gives an empty stdin ("stdin": ""), so stdin is at EOF: a spawned
;; thread's read returns 0 bytes at once. Main joins it and exits with the
;; number of bytes read plus 10 (10 expected).
;;
;; Memory: 0 done, 4 bytes read, 100 iovec, 200 buffer, 300 nread.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func (export "wasi_thread_start") (param i32 i32)
    (i32.store (i32.const 100) (i32.const 200))
    (i32.store (i32.const 104) (i32.const 16))
    (if (call $fd_read (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 300))
      (then unreachable))
    (i32.atomic.store (i32.const 4) (i32.load (i32.const 300)))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start")
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (loop $join
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $join))))
    (call $exit (i32.add (i32.atomic.load (i32.const 4)) (i32.const 10)))))
