;; i32 results are signed: 3 - 10 is -7.
(module
  (func (export "sub") (param i32 i32) (result i32)
    (i32.sub (local.get 0) (local.get 1))))
