;; Imports lib's memory: fused, there is one memory.
(module
  (import "lib" "memory" (memory 1))
  (import "lib" "alloc" (func $alloc (param i32) (result i32)))
  (func (export "fill") (param $v i32) (result i32)
    (local $p i32)
    i32.const 16
    call $alloc
    local.set $p
    local.get $p
    local.get $v
    i32.const 16
    memory.fill
    local.get $p
    i32.load))
