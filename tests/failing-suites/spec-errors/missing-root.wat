;; A module that would pass; its root fixture does not exist.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
