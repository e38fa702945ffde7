;; Builds 20 000 nested directories, one handle at a time (mkdir "d", open
;; it, close the parent), far deeper than any host path can name and than a
;; recursive removal's stack can follow. The harness must still remove the
;; whole tree after the test (iteratively), and the run must go on.
(module
  (import "wasi_snapshot_preview1" "path_create_directory"
    (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "d")
  (func (export "_start")
    (local $fd i32) (local $i i32) (local $new i32)
    (local.set $fd (i32.const 3))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 20000)))
        ;; mkdir "d" in the current directory; any error ends the test with exit 1.
        (if (call $mkdir (local.get $fd) (i32.const 0) (i32.const 1))
          (then (call $exit (i32.const 1))))
        ;; open it as a directory (O_DIRECTORY = 2)
        (if (call $open (local.get $fd) (i32.const 0) (i32.const 0) (i32.const 1)
                        (i32.const 2) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16))
          (then (call $exit (i32.const 2))))
        (local.set $new (i32.load (i32.const 16)))
        (if (i32.ne (local.get $fd) (i32.const 3))
          (then (drop (call $close (local.get $fd)))))
        (local.set $fd (local.get $new))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
