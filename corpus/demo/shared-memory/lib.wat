(module
  (memory (export "memory") 1 4)
  (global $top (mut i32) (i32.const 64))
  (func (export "alloc") (param $n i32) (result i32)
    (local $p i32)
    global.get $top
    local.set $p
    global.get $top
    local.get $n
    i32.add
    global.set $top
    local.get $p))
