;; add(2, 3) is 5; the spec expects 6.
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
