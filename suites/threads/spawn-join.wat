;; Spawns four threads with the arguments 1 to 4. Each adds its argument to a
;; shared sum and counts itself done; main waits for the count to reach 4
;; (memory.atomic.wait32 on it), checks the sum and the thread ids (positive,
;; unique), prints the sum and returns.
;;
;; Memory: 0 done count, 4 sum, 8 last tid, 1024 text, 2048 print scratch.
;; The text is copied in by main from a passive segment: every thread is a new
;; instance, and an active segment would be written again by each.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (data $text "joined 4 threads, sum   \n")

  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (drop (i32.atomic.rmw.add (i32.const 4) (local.get $arg)))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))

  (func (export "_start") (local $i i32) (local $tid i32) (local $done i32) (local $sum i32)
    (memory.init $text (i32.const 1024) (i32.const 0) (i32.const 25))
    (local.set $i (i32.const 1))
    (loop $spawn_all
      (local.set $tid (call $spawn (local.get $i)))
      (if (i32.le_s (local.get $tid) (i32.const 0)) (then unreachable))
      (if (i32.eq (local.get $tid) (i32.load (i32.const 8))) (then unreachable))
      (i32.store (i32.const 8) (local.get $tid))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn_all (i32.le_u (local.get $i) (i32.const 4))))
    (loop $join
      (local.set $done (i32.atomic.load (i32.const 0)))
      (if (i32.lt_u (local.get $done) (i32.const 4))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $done) (i64.const -1)))
          (br $join))))
    (local.set $sum (i32.atomic.load (i32.const 4)))
    (if (i32.ne (local.get $sum) (i32.const 10)) (then unreachable))
    ;; "sum 10": two digits at 1046, 1047.
    (i32.store8 (i32.const 1046) (i32.add (i32.const 48) (i32.div_u (local.get $sum) (i32.const 10))))
    (i32.store8 (i32.const 1047) (i32.add (i32.const 48) (i32.rem_u (local.get $sum) (i32.const 10))))
    (i32.store (i32.const 2048) (i32.const 1024))
    (i32.store (i32.const 2052) (i32.const 25))
    (if (call $fd_write (i32.const 1) (i32.const 2048) (i32.const 1) (i32.const 2056))
      (then unreachable))))
