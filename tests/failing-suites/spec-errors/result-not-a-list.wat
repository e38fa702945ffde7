;; A module that would pass; result must be a list.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
