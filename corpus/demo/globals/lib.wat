(module
  (global (export "base") i32 (i32.const 256))
  (global (export "counter") (mut i32) (i32.const 5))
  (memory (export "memory") 1)
  (func (export "bump") (result i32)
    global.get 1
    i32.const 1
    i32.add
    global.set 1
    global.get 1))
