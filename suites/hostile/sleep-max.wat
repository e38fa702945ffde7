;; Sleeps with the largest relative clock timeout there is (2^64-1 ns) through
;; a raw poll_oneoff: the host must neither overflow computing the deadline
;; nor wait for it; the timeout stops the guest inside the host call.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; subscription (48 bytes) at 0:
  ;;   userdata u64 @0, tag u8 @8 (0 = clock),
  ;;   clock: id u32 @16 (1 = monotonic), timeout u64 @24, precision u64 @32,
  ;;          flags u16 @40 (0 = relative)
  ;; event (32 bytes) at 64; nevents u32 at 128.
  (func (export "_start")
    (i64.store (i32.const 0) (i64.const 42))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const -1))
    (i64.store (i32.const 32) (i64.const 0))
    (i32.store16 (i32.const 40) (i32.const 0))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    ;; Returning at all (an error, or a deadline that wrapped around) is a
    ;; failure: exit 1 instead of the expected timeout.
    (call $proc_exit (i32.const 1))))
