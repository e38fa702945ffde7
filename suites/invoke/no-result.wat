;; A function with no results.
(module
  (memory (export "memory") 1)
  (func (export "store") (param i32 i32)
    (i32.store (local.get 0) (local.get 1))))
