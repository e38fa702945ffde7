;; A module that would pass; an operation misspells exit_code.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
