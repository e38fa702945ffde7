;; call_indirect through an empty table slot traps.
(module
  (memory (export "memory") 1)
  (type $t (func))
  (table 2 funcref)
  (func (export "_start")
    (call_indirect (type $t) (i32.const 1))))
