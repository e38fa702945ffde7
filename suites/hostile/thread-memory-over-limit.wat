;; A shared memory whose minimum (2 MiB) is over limits.memory_bytes (1 MiB):
;; the program cannot start, and the run ends with a memory limit trap.
(module
  (import "env" "memory" (memory 32 64 shared))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (func (export "_start")))
