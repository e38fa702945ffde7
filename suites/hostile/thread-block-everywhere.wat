;; Five spawned threads block in every way a thread can: one spins, one waits
;; forever in memory.atomic.wait32, one in memory.atomic.wait64 at the top of
;; memory, one reads stdin (which stays open: the spec gives none), one sleeps
;; 100 s in poll_oneoff; main waits forever. The timeout must stop them all.
;;
;; Memory: 8, 12 wait words; 0x100 a clock subscription, 0x200 its event,
;; 0x300 nevents; 0x400 an iovec, 0x500 a buffer, 0x600 nread.
(module
  (import "env" "memory" (memory 2 2 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (block $wait32 (block $wait64 (block $read (block $sleep (block $spin
      (br_table $spin $wait32 $wait64 $read $sleep (local.get $arg)))
      ;; 0: spin
      (loop $forever (br $forever)))
      ;; 4: sleep 100 s (a relative timeout on the realtime clock)
      (i64.store (i32.const 0x118) (i64.const 100_000_000_000))
      (drop (call $poll (i32.const 0x100) (i32.const 0x200) (i32.const 1) (i32.const 0x300)))
      unreachable)
      ;; 3: read stdin
      (i32.store (i32.const 0x400) (i32.const 0x500))
      (i32.store (i32.const 0x404) (i32.const 16))
      (drop (call $fd_read (i32.const 0) (i32.const 0x400) (i32.const 1) (i32.const 0x600)))
      unreachable)
      ;; 2: wait64 forever at the top of memory
      (drop (memory.atomic.wait64 (i32.const 131064) (i64.const 0) (i64.const -1)))
      unreachable)
    ;; 1: wait32 forever
    (drop (memory.atomic.wait32 (i32.const 8) (i32.const 0) (i64.const -1)))
    unreachable)
  (func (export "_start") (local $i i32)
    (loop $spawn_all
      (if (i32.le_s (call $spawn (local.get $i)) (i32.const 0)) (then unreachable))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spawn_all (i32.lt_u (local.get $i) (i32.const 5))))
    (drop (memory.atomic.wait32 (i32.const 12) (i32.const 0) (i64.const -1)))
    unreachable))
