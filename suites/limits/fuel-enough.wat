;; Counts to 100 and exits normally: well within its fuel.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 100))))))
