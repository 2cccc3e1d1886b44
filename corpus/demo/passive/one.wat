(module
  (memory (export "mem1") 1)
  (data $d "first")
  (data $e "second")
  (func (export "init_one") (result i32)
    i32.const 0
    i32.const 0
    i32.const 5
    memory.init $d
    data.drop $d
    i32.const 0
    i32.load8_u))
