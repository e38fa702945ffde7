;; A module that would pass; its stdout regex does not compile.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
