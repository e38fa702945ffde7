;; A float argument given as a string: sqrt("inf") is infinity.
(module
  (func (export "sqrt") (param f32) (result f32)
    (f32.sqrt (local.get 0))))
