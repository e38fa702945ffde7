;; Tables count against the memory limit too (8 bytes an element): with a
;; 4 MiB limit, one table may grow by 400000 elements (3.2 MB) but a second
;; table may not, though each alone would fit. table.grow returns -1.
(module
  (table $a 1 funcref)
  (table $b 1 funcref)
  (func (export "grow") (result i32)
    (drop (table.grow $a (ref.null func) (i32.const 400000)))
    (table.grow $b (ref.null func) (i32.const 400000))))
