;; A module that would pass; stdin is not allowed in an operation spec.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
