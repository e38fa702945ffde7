;; Imports a function that WASI preview 1 does not have.
(module
  (import "wasi_snapshot_preview1" "not_a_function" (func $nope))
  (memory (export "memory") 1)
  (func (export "_start")
    call $nope))
