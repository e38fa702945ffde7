;; Waits for stdin to be readable (poll_oneoff on fd 0), which it never is:
;; the spec's operations read stdout before they close stdin. The test times
;; out, and the hint must name the call the guest was blocked in.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; One subscription at 0: userdata 0, tag 1 (fd_read) at 8, fd 0 at 16.
    (i32.store8 (i32.const 8) (i32.const 1))
    (i32.store (i32.const 16) (i32.const 0))
    (drop (call $poll_oneoff (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200)))))
