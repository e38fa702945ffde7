;; Prints 1 600 000 distinct lines (14.4 MB, inside the 16 MiB output limit)
;; against an expected "hello\n": a line-by-line diff of that is quadratic.
;; The failure must still be reported at once, briefly.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; an 8-digit decimal counter at 0, an iovec at 16, the output buffer at 1024
  (data (i32.const 0) "00000000")
  (func $increment (local $i i32)
    (local.set $i (i32.const 7))
    (block $done
      (loop $carry
        (if (i32.lt_u (i32.load8_u (local.get $i)) (i32.const 57))
          (then
            (i32.store8 (local.get $i) (i32.add (i32.load8_u (local.get $i)) (i32.const 1)))
            (br $done)))
        (i32.store8 (local.get $i) (i32.const 48))
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $carry))))
  (func $flush (param $len i32)
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (local.get $len))
    (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
  (func (export "_start") (local $n i32) (local $at i32)
    (local.set $at (i32.const 1024))
    (block $end
      (loop $line
        (br_if $end (i32.ge_u (local.get $n) (i32.const 1600000)))
        (i64.store (local.get $at) (i64.load (i32.const 0)))
        (i32.store8 (i32.add (local.get $at) (i32.const 8)) (i32.const 10))
        (local.set $at (i32.add (local.get $at) (i32.const 9)))
        (if (i32.gt_u (local.get $at) (i32.const 66000))
          (then
            (call $flush (i32.sub (local.get $at) (i32.const 1024)))
            (local.set $at (i32.const 1024))))
        (call $increment)
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $line)))
    (call $flush (i32.sub (local.get $at) (i32.const 1024)))))
