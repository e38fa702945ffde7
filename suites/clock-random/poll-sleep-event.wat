;; Sleeps 1 ms through poll_oneoff on one relative monotonic clock and checks
;; what comes back: errno 0, one event, the subscription's userdata, no error,
;; type clock. The exit code names the first thing that was wrong.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; subscription (48 bytes) at 0: userdata @0, tag @8 (0 = clock),
  ;; clock id @16 (1 = monotonic), timeout @24, precision @32, flags @40.
  ;; event (32 bytes) at 64, prefilled with 0xff; nevents at 128.
  (func $fail (param i32) (call $proc_exit (local.get 0)))
  (func (export "_start")
    (i64.store (i32.const 0) (i64.const 0x1122334455667788))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 1000000))
    (memory.fill (i32.const 64) (i32.const 0xff) (i32.const 32))
    (if (i32.ne (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))
                (i32.const 0))
      (then (call $fail (i32.const 10))))
    (if (i32.ne (i32.load (i32.const 128)) (i32.const 1))
      (then (call $fail (i32.const 11))))
    (if (i64.ne (i64.load (i32.const 64)) (i64.const 0x1122334455667788))
      (then (call $fail (i32.const 12))))
    ;; error u16 @8
    (if (i32.ne (i32.load16_u (i32.const 72)) (i32.const 0))
      (then (call $fail (i32.const 13))))
    ;; type u8 @10 (0 = clock)
    (if (i32.ne (i32.load8_u (i32.const 74)) (i32.const 0))
      (then (call $fail (i32.const 14))))
    (call $proc_exit (i32.const 0))))
