;; A module that would pass; send names a connection that was never defined.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
