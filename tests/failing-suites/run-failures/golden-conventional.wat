;; Prints "line one\nline 2\n"; its conventional golden file,
;; expected/tests/failing-suites/run-failures/golden-conventional.stdout, says
;; "line two". The spec names no stdout: the golden file alone is checked.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "line one\0aline 2\0a")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
