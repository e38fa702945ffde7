;; Two results of different types: swap an (i32, i64) pair.
(module
  (func (export "swap") (param i32 i64) (result i64 i32)
    (local.get 1)
    (local.get 0)))
