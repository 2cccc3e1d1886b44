;; A second, separate memory: fused, memory accesses here use memory 1.
(module
  (import "one" "put_one" (func $put_one (param i32 i32)))
  (memory (export "mem_two") 2)
  (data (i32.const 0) "two")
  (func (export "put_two") (param i32 i32)
    local.get 0
    local.get 1
    i32.store
    local.get 0
    local.get 1
    i32.const 1
    i32.add
    call $put_one)
  (func (export "size_two") (result i32)
    memory.size))
