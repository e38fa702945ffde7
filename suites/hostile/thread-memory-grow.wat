;; The shared memory is declared up to 4 GiB; limits.memory_bytes is 1 MiB
;; (16 pages). A spawned thread grows it 3 pages at a time (1, 4, ..., 16)
;; until memory.grow returns -1; then main, which shares the memory, must see
;; 16 pages and have its own memory.grow refused too. Prints the final size
;; and exits 0.
;;
;; Memory: 0 done, 1024 text, 2048 scratch.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (data $text "grew to ?? pages, then memory.grow returned -1\n")
  (func (export "wasi_thread_start") (param i32 i32)
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 3)) (i32.const -1))))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
  (func (export "_start")
    (memory.init $text (i32.const 1024) (i32.const 0) (i32.const 47))
    (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
    (loop $join
      (if (i32.eqz (i32.atomic.load (i32.const 0)))
        (then
          (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
          (br $join))))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
    (i32.store8 (i32.const 1032) (i32.add (i32.const 48) (i32.div_u (memory.size) (i32.const 10))))
    (i32.store8 (i32.const 1033) (i32.add (i32.const 48) (i32.rem_u (memory.size) (i32.const 10))))
    (i32.store (i32.const 2048) (i32.const 1024))
    (i32.store (i32.const 2052) (i32.const 47))
    (if (call $fd_write (i32.const 1) (i32.const 2048) (i32.const 1) (i32.const 2056))
      (then unreachable))))
