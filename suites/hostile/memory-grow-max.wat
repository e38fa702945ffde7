;; memory.grow by 0xFFFFFFFF pages (-1 as i32): a page count whose byte size
;; overflows 32 and 64-bit sizes in careless hosts. It must return -1.
(module
  (memory (export "memory") 1)
  (func (export "grow") (result i32)
    (memory.grow (i32.const -1))))
