;; A module that would pass; a dirs entry has a number as its host path.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
