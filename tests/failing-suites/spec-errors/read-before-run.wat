;; A module that would pass; a read comes before any run.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
