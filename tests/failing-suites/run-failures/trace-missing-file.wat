;; Opens a file that is not in its preopened directory (/data), then exits 1
;; as a program does when an open fails. The spec expects exit 0, so the test
;; fails, and its trace must show the path_open call with its path and errno,
;; and a hint saying the file is not in /data.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "missing.txt")
  (func (export "_start")
    ;; path_open(fd 3 = /data, symlink_follow, "missing.txt", no oflags,
    ;;           rights fd_read, no inheriting, no fdflags, out at 200)
    (if (call $path_open (i32.const 3) (i32.const 1) (i32.const 100) (i32.const 11)
                         (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0)
                         (i32.const 200))
      (then (call $proc_exit (i32.const 1))))))
