;; A module that would pass; its spec mixes a legacy key (args) with operations.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
