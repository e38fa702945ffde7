;; A module that would pass; an operation has an unknown type.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
