;; A module that would pass; its spec misspells exit_code.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
