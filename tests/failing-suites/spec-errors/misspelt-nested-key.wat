;; A module that would pass; its spec misspells limits.memory_bytes.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
