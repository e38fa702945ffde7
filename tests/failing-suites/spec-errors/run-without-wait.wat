;; A module that would pass; a run is not followed by a wait.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
