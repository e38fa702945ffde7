;; A module that would pass; its spec gives args as a string, not a list.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
