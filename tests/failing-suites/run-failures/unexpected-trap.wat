;; Traps in $explode; the test has no spec, so any trap fails it. The
;; message shows the trap and a backtrace naming $explode.
(module
  (memory (export "memory") 1)
  (func $explode
    unreachable)
  (func (export "_start")
    call $explode))
