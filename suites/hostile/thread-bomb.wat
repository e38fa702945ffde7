;; A thread bomb: spawns threads (each parks forever in memory.atomic.wait32)
;; until thread-spawn refuses, then tries 4 more times, and prints how many
;; threads it got and how many spawns were refused; then exits 0, which must
;; stop the 64 parked threads. The harness caps live threads per test at 64;
;; a refused spawn returns a negative value.
;;
;; Memory: 0 wait word (never changed), 1024 text, 2048 scratch.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (data $text "spawned ?? threads, then ? refused\n")

  (func (export "wasi_thread_start") (param i32 i32)
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))

  ;; Writes the two decimal digits of $n at $at.
  (func $digits (param $at i32) (param $n i32)
    (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.div_u (local.get $n) (i32.const 10))))
    (i32.store8 offset=1 (local.get $at) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10)))))

  (func (export "_start") (local $spawned i32) (local $refused i32) (local $tid i32) (local $attempts i32)
    (memory.init $text (i32.const 1024) (i32.const 0) (i32.const 35))
    (loop $bomb
      (local.set $tid (call $spawn (i32.const 0)))
      (if (i32.gt_s (local.get $tid) (i32.const 0))
        (then
          (local.set $spawned (i32.add (local.get $spawned) (i32.const 1)))
          ;; never more than 99 (the text has two digits)
          (br_if $bomb (i32.lt_u (local.get $spawned) (i32.const 99))))))
    (local.set $refused (i32.le_s (local.get $tid) (i32.const 0)))
    (loop $more
      (if (i32.lt_s (call $spawn (i32.const 0)) (i32.const 0))
        (then (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
      (local.set $attempts (i32.add (local.get $attempts) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $attempts) (i32.const 4))))
    (call $digits (i32.const 1032) (local.get $spawned))
    (i32.store8 (i32.const 1049) (i32.add (i32.const 48) (local.get $refused)))
    (i32.store (i32.const 2048) (i32.const 1024))
    (i32.store (i32.const 2052) (i32.const 35))
    (if (call $fd_write (i32.const 1) (i32.const 2048) (i32.const 1) (i32.const 2056))
      (then unreachable))
    (call $exit (i32.const 0))))
