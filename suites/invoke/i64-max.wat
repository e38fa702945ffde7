;; i64 beyond the range of a double: 9223372036854775806 + 1.
(module
  (func (export "inc") (param i64) (result i64)
    (i64.add (local.get 0) (i64.const 1))))
