;; Spins forever; stopped when its fuel runs out.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever
      (br $forever))))
