;; With no stdin in its spec, a wasi-threads program gets a stdin that stays
;; open until the program ends. A spawned thread reads stdin, which blocks;
;; main gives it 100 ms (a timed memory.atomic.wait32 that must time out),
;; checks that the read has not returned, and returns: exit 0, the reader
;; being stopped. With a stdin at EOF the read returns at once and main traps.
;;
;; Memory: 0 wait word, 4 "read returned", 100 iovec, 200 buffer, 300 nread.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (func (export "wasi_thread_start") (param i32 i32)
    (i32.store (i32.const 100) (i32.const 200))
    (i32.store (i32.const 104) (i32.const 16))
    (drop (call $fd_read (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 300)))
    (i32.atomic.store (i32.const 4) (i32.const 1)))
  (func (export "_start")
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    ;; 2 = timed out
    (if (i32.ne (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 100_000_000))
                (i32.const 2))
      (then unreachable))
    (if (i32.atomic.load (i32.const 4)) (then unreachable))))
