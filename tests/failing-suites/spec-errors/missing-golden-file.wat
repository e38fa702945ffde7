;; A module that would pass; its stdout golden file does not exist.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
