;; A module that would pass; timeout_ms is a string.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
