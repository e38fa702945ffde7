;; memory.grow past memory_bytes returns -1; growth within it succeeds.
(module
  (memory (export "memory") 1)
  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages))))
