;; Growing within memory_bytes succeeds and returns the old size in pages.
(module
  (memory (export "memory") 1)
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages))))
