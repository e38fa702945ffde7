;; sleep-max through the older `wasi_unstable` poll_oneoff (whose subscription
;; is laid out differently): the largest relative timeout there is, which the
;; timeout must stop inside the host call.
(module
  (import "wasi_unstable" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_unstable" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; subscription (56 bytes) at 0:
  ;;   userdata u64 @0, tag u8 @8 (0 = clock),
  ;;   clock: identifier u64 @16, id u32 @24 (1 = monotonic), timeout u64 @32,
  ;;          precision u64 @40, flags u16 @48 (0 = relative)
  ;; event (32 bytes) at 64; nevents u32 at 128.
  (func (export "_start")
    (i64.store (i32.const 0) (i64.const 42))
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 24) (i32.const 1))
    (i64.store (i32.const 32) (i64.const -1))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (call $proc_exit (i32.const 1))))
