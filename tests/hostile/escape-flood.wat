;; Fills stdout and stderr to the 16 MiB output limit with what escapes
;; worst: control characters, terminal escape sequences and GitHub workflow
;; commands, one line after another. Its spec expects other output, so the
;; failure report quotes it: every excerpt must stay bounded and escaped.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 64) "\01\02\1b[2J\1b]0;pwned\07::error::forged\0a::endgroup::\0a::add-mask::x\0a\7f\00")
  (func $fill (local $i i32)
    ;; repeat the 64-byte pattern over 64 KiB at 1024
    (loop $copy
      (memory.copy
        (i32.add (i32.const 1024) (i32.mul (local.get $i) (i32.const 64)))
        (i32.const 64) (i32.const 64))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $i) (i32.const 1024)))))
  (func (export "_start") (local $n i32)
    (call $fill)
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 65536))
    (loop $again
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $n) (i32.const 260))))))
