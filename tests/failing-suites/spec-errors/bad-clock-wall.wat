;; A module that would pass; clock.wall is not a date.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
