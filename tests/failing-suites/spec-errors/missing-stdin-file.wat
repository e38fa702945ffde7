;; A module that would pass; its stdin file does not exist.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
