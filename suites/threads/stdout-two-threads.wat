;; Main and a spawned thread write to stdout at the same time, ten lines each
;; ("main\n", "thread\n"), between a first and a last line that main writes
;; before the spawn and after joining the thread. Every write must arrive
;; whole (lines may interleave, bytes must not).
;;
;; Memory: 0 thread done, 1024 text, 2048 main's scratch, 2064 the thread's.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (data $text "main: start\nmain\nthread\nmain: joined\n")

  ;; Writes $len bytes at $ptr to stdout, with an iovec at $scratch.
  (func $print (param $ptr i32) (param $len i32) (param $scratch i32)
    (i32.store (local.get $scratch) (local.get $ptr))
    (i32.store offset=4 (local.get $scratch) (local.get $len))
    (if (call $fd_write (i32.const 1) (local.get $scratch) (i32.const 1)
                        (i32.add (local.get $scratch) (i32.const 8)))
      (then unreachable)))

  (func $repeat (param $ptr i32) (param $len i32) (param $scratch i32) (local $i i32)
    (loop $lines
      (call $print (local.get $ptr) (local.get $len) (local.get $scratch))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lines (i32.lt_u (local.get $i) (i32.const 10)))))

  (func (export "wasi_thread_start") (param i32 i32)
    (call $repeat (i32.const 1041) (i32.const 7) (i32.const 2064))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))

  (func (export "_start")
    (memory.init $text (i32.const 1024) (i32.const 0) (i32.const 37))
    (call $print (i32.const 1024) (i32.const 12) (i32.const 2048))
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (call $repeat (i32.const 1036) (i32.const 5) (i32.const 2048))
    (loop $join
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $join))))
    (call $print (i32.const 1048) (i32.const 13) (i32.const 2048))))
