;; Imports a host function from a module no runtime provides.
(module
  (import "env" "host_magic" (func $magic))
  (memory (export "memory") 1)
  (func (export "_start")
    call $magic))
