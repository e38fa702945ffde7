;; A module that would pass; a dirs fixture does not exist.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
