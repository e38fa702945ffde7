;; In the operation form, stdin is the pipe that `write` feeds and `wait`
;; closes, for wasi-threads programs too. A spawned thread reads stdin until
;; EOF and answers every chunk with "got N bytes\n" (N < 10); at EOF it tells
;; main, which returns.
;;
;; Memory: 0 done, 100 iovecs, 200 nread/nwritten, 300 buffer, 1024 answer.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (data $text "got ? bytes\n")
  (func (export "wasi_thread_start") (param i32 i32) (local $n i32)
    (loop $read
      (i32.store (i32.const 100) (i32.const 300))
      (i32.store (i32.const 104) (i32.const 9))
      (if (call $fd_read (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200))
        (then unreachable))
      (local.set $n (i32.load (i32.const 200)))
      (if (local.get $n)
        (then
          (i32.store8 (i32.const 1028) (i32.add (i32.const 48) (local.get $n)))
          (i32.store (i32.const 100) (i32.const 1024))
          (i32.store (i32.const 104) (i32.const 12))
          (if (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 200))
            (then unreachable))
          (br $read))))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start")
    (memory.init $text (i32.const 1024) (i32.const 0) (i32.const 12))
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (loop $join
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $join))))))
