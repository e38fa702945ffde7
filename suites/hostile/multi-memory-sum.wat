;; Three memories (multi-memory), each grown by 2000 pages (125 MiB). Each
;; stays under the default memory limit (256 MiB) on its own; together they do
;; not: the limit is one budget for every memory and table of the test, so the
;; third growth is refused (memory.grow returns -1).
(module
  (memory $a 1)
  (memory $b 1)
  (memory $c 1)
  (func (export "grow") (result i32)
    (drop (memory.grow $a (i32.const 2000)))
    (drop (memory.grow $b (i32.const 2000)))
    (memory.grow $c (i32.const 2000))))
