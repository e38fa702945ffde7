;; Exits cleanly; the operation spec waits for a trap.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
