;; i64 values as strings: negate "1" gives "-1".
(module
  (func (export "negate") (param i64) (result i64)
    (i64.sub (i64.const 0) (local.get 0))))
