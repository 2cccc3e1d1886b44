(module
  (memory (export "mem_one") 1)
  (data (i32.const 0) "one")
  (func (export "put_one") (param i32 i32)
    local.get 0
    local.get 1
    i32.store)
  (func (export "get_one") (param i32) (result i32)
    local.get 0
    i32.load))
