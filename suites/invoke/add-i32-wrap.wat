;; i32 addition wraps around: i32::MAX + 1 is i32::MIN.
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
