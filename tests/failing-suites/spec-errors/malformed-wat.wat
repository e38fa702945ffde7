;; A text module with a syntax error on line 5.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.bogus)))
