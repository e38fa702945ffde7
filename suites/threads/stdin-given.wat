;; The spec's stdin reaches a spawned thread: it reads it to EOF and writes
;; it back on stdout after "thread read: "; main joins it and returns.
;;
;; Memory: 0 done, 100 iovecs, 200 nread/nwritten, 1024 text, 1037 buffer.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (data $text "thread read: ")
  (func (export "wasi_thread_start") (param i32 i32) (local $end i32) (local $n i32)
    (local.set $end (i32.const 1037))
    (loop $read
      (i32.store (i32.const 100) (local.get $end))
      (i32.store (i32.const 104) (i32.const 64))
      (if (call $fd_read (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200))
        (then unreachable))
      (local.set $n (i32.load (i32.const 200)))
      (local.set $end (i32.add (local.get $end) (local.get $n)))
      (br_if $read (i32.and (i32.ne (local.get $n) (i32.const 0))
                            (i32.lt_u (local.get $end) (i32.const 2048)))))
    (i32.store (i32.const 100) (i32.const 1024))
    (i32.store (i32.const 104) (i32.sub (local.get $end) (i32.const 1024)))
    (if (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 200))
      (then unreachable))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start")
    (memory.init $text (i32.const 1024) (i32.const 0) (i32.const 13))
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (loop $join
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $join))))))
