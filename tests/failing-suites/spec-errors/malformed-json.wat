;; A module that would pass; its spec has a JSON syntax error on line 3 (a missing comma).
(module
  (memory (export "memory") 1)
  (func (export "_start")))
