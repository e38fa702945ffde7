;; Hits `unreachable`; the spec expects a division by zero.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    unreachable))
