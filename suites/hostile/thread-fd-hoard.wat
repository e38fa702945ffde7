;; A spawned thread opens /file.txt again and again without closing it
;; (4096 times at most, then spins), while main waits forever: the watchdog,
;; run from the threads' epoch callbacks, must stop the program at
;; limits.open_files.
;;
;; Memory: 0 wait word, 1024 path, 2048 opened fd.
(module
  (import "env" "memory" (memory 1 1 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (data $path "file.txt")
  (func (export "wasi_thread_start") (param i32 i32) (local $n i32)
    (loop $open
      ;; fd 3 is the root preopen; rights: fd_read
      (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 8)
                           (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0)
                           (i32.const 2048))
        (then unreachable))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $open (i32.lt_u (local.get $n) (i32.const 4096))))
    (loop $forever (br $forever)))
  (func (export "_start")
    (memory.init $path (i32.const 1024) (i32.const 0) (i32.const 8))
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    unreachable))
