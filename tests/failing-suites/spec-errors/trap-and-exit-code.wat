;; A module that would pass; its spec has both trap and exit_code.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
