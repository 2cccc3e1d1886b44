;; Its data indices move when fused after `one`.
(module
  (memory (export "mem2") 1)
  (data $x "xyz")
  (func (export "init_two") (result i32)
    i32.const 10
    i32.const 1
    i32.const 2
    memory.init $x
    i32.const 10
    i32.load8_u)
  (func (export "init_two_after_drop") (result i32)
    data.drop $x
    i32.const 0
    i32.const 0
    i32.const 1
    memory.init $x
    i32.const 0))
