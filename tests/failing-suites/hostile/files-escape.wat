;; Turns the files a spec checks into traps for the harness: a symlink to a
;; host file, a symlink to a directory leading out of the sandbox, and a 1 GiB
;; sparse file. Checking must not follow the symlinks (nor print what they
;; point at) and must read a bounded amount of the big file.
(module
  (import "wasi_snapshot_preview1" "path_symlink"
    (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_set_size"
    (func $set_size (param i32 i64) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "../../../../../../etc/passwd") ;; 28 bytes
  (data (i32.const 32) "out")            ;; 3
  (data (i32.const 48) "../../../../../etc") ;; 18
  (data (i32.const 80) "up")             ;; 2
  (data (i32.const 96) "big")            ;; 3
  (func (export "_start")
    (drop (call $symlink (i32.const 0) (i32.const 28) (i32.const 3) (i32.const 32) (i32.const 3)))
    (drop (call $symlink (i32.const 48) (i32.const 18) (i32.const 3) (i32.const 80) (i32.const 2)))
    ;; create "big" (O_CREAT = 1) and make it 1 GiB, all hole
    (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 96) (i32.const 3) (i32.const 1)
                             (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 128)))
      (then (drop (call $set_size (i32.load (i32.const 128)) (i64.const 1073741824)))))))
