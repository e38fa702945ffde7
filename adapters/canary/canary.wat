;; wasi-conform's runtime canary: proves that a runtime, through its adapter,
;; runs a module at all, with arguments, environment and a preopened directory.
;;
;; It prints one line on stdout,
;;     wasi-conform canary: arg=A env=E file=F
;; where A is argv[1], E the value of WASI_CONFORM_CANARY, F the contents of
;; nonce.txt in the directory preopened as /canary ("-" for what is missing),
;; then exits with code 17. The harness gives all three the same random nonce
;; and checks the line and the code before it lets the runtime run any test.
;; scripts/build-canary.sh makes canary.wasm from this file and canary-p2.wasm
;; (a wasip2 command component, through the preview1 adapter) from that.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))

  (memory (export "memory") 1)

  ;; Scratch:   0 argc, 4 argv buf size, 16 environ count, 20 environ buf size,
  ;;           32 prestat (tag, name length at +4), 48 opened fd, 52 bytes read,
  ;;           56 bytes written, 64 iovec (pointer, length).
  ;; Text:    128..
  (data (i32.const 128) "nonce.txt")
  (data (i32.const 144) "WASI_CONFORM_CANARY=")
  (data (i32.const 176) "wasi-conform canary: arg=")
  (data (i32.const 208) " env=")
  (data (i32.const 216) " file=")
  (data (i32.const 224) "\n")
  (data (i32.const 232) "-")
  (data (i32.const 240) "canary")
  ;; 1024 argv pointers (256), 2048 argv bytes (8 KiB), 12288 environ pointers
  ;; (256), 13312 environ bytes (8 KiB), 24576 preopen name (256), 25600 file
  ;; contents (256).

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $n) (i32.const 8192)))
        (br $next)))
    (local.get $n))

  (func $memeq (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $differ
      (loop $next
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  (func $write (param $p i32) (param $n i32)
    (i32.store (i32.const 64) (local.get $p))
    (i32.store (i32.const 68) (local.get $n))
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 56))))

  ;; Writes the NUL-terminated string at $p, or "-" when $p is 0.
  (func $write_cstr (param $p i32)
    (if (i32.eqz (local.get $p))
      (then (call $write (i32.const 232) (i32.const 1)))
      (else (call $write (local.get $p) (call $strlen (local.get $p))))))

  ;; argv[1], or 0.
  (func $arg (result i32)
    (if (call $args_sizes_get (i32.const 0) (i32.const 4)) (then (return (i32.const 0))))
    (if (i32.gt_u (i32.load (i32.const 0)) (i32.const 256)) (then (return (i32.const 0))))
    (if (i32.gt_u (i32.load (i32.const 4)) (i32.const 8192)) (then (return (i32.const 0))))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 2)) (then (return (i32.const 0))))
    (if (call $args_get (i32.const 1024) (i32.const 2048)) (then (return (i32.const 0))))
    (i32.load (i32.const 1028)))

  ;; The value of WASI_CONFORM_CANARY, or 0.
  (func $env (result i32)
    (local $i i32) (local $entry i32)
    (if (call $environ_sizes_get (i32.const 16) (i32.const 20)) (then (return (i32.const 0))))
    (if (i32.gt_u (i32.load (i32.const 16)) (i32.const 256)) (then (return (i32.const 0))))
    (if (i32.gt_u (i32.load (i32.const 20)) (i32.const 8192)) (then (return (i32.const 0))))
    (if (call $environ_get (i32.const 12288) (i32.const 13312)) (then (return (i32.const 0))))
    (block $none
      (loop $next
        (br_if $none (i32.ge_u (local.get $i) (i32.load (i32.const 16))))
        (local.set $entry (i32.load (i32.add (i32.const 12288) (i32.shl (local.get $i) (i32.const 2)))))
        (if (call $memeq (local.get $entry) (i32.const 144) (i32.const 20))
          (then (return (i32.add (local.get $entry) (i32.const 20)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; The fd of the preopened directory whose name ends in "canary", or -1.
  (func $preopen (result i32)
    (local $fd i32) (local $len i32)
    (local.set $fd (i32.const 3))
    (block $none
      (loop $next
        (br_if $none (i32.ge_u (local.get $fd) (i32.const 64)))
        (if (i32.eqz (call $fd_prestat_get (local.get $fd) (i32.const 32)))
          (then
            (local.set $len (i32.load (i32.const 36)))
            (if (i32.and (i32.ge_u (local.get $len) (i32.const 6)) (i32.le_u (local.get $len) (i32.const 256)))
              (then
                (if (i32.eqz (call $fd_prestat_dir_name (local.get $fd) (i32.const 24576) (local.get $len)))
                  (then
                    (if (call $memeq
                          (i32.add (i32.const 24576) (i32.sub (local.get $len) (i32.const 6)))
                          (i32.const 240) (i32.const 6))
                      (then (return (local.get $fd))))))))))
        (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  ;; Reads nonce.txt from the preopen into 25600 (NUL-terminated); its address, or 0.
  (func $file (result i32)
    (local $dir i32)
    (local.set $dir (call $preopen))
    (if (i32.lt_s (local.get $dir) (i32.const 0)) (then (return (i32.const 0))))
    ;; rights: FD_READ (2)
    (if (call $path_open (local.get $dir) (i32.const 0) (i32.const 128) (i32.const 9)
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 48))
      (then (return (i32.const 0))))
    (i32.store (i32.const 64) (i32.const 25600))
    (i32.store (i32.const 68) (i32.const 255))
    (if (call $fd_read (i32.load (i32.const 48)) (i32.const 64) (i32.const 1) (i32.const 52))
      (then (return (i32.const 0))))
    (i32.store8 (i32.add (i32.const 25600) (i32.load (i32.const 52))) (i32.const 0))
    (i32.const 25600))

  (func (export "_start")
    (local $arg i32) (local $env i32) (local $file i32)
    (local.set $arg (call $arg))
    (local.set $env (call $env))
    (local.set $file (call $file))
    (call $write (i32.const 176) (i32.const 25))
    (call $write_cstr (local.get $arg))
    (call $write (i32.const 208) (i32.const 5))
    (call $write_cstr (local.get $env))
    (call $write (i32.const 216) (i32.const 6))
    (call $write_cstr (local.get $file))
    (call $write (i32.const 224) (i32.const 1))
    (call $proc_exit (i32.const 17))))
