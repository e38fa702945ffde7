;; Spins forever; the spec limits fuel and expects a normal exit.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever
      (br $forever))))
