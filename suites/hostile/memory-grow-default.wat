;; Grows one page at a time until memory.grow refuses, then returns the
;; memory's size in pages: under the documented default limit of 256 MiB
;; that is exactly 4096 pages (the limit is reached, never passed).
(module
  (memory (export "memory") 1)
  (func (export "grow_all") (result i32)
    (block $refused
      (loop $more
        (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    (memory.size)))
