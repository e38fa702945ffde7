;; Asks for 65536 more pages (4 GiB, the whole 32-bit address space) at once.
;; Under the default memory limit (256 MiB) memory.grow returns -1: no trap,
;; no host allocation.
(module
  (memory (export "memory") 1)
  (func (export "grow") (result i32)
    (memory.grow (i32.const 65536))))
