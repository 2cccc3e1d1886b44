(component
  (import "host" (instance $host (export "log" (func (param "s" string)))))
  (core module $lib
    (memory (export "memory") 1)
    (data (i32.const 16) "hello")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 64)
    (func (export "two") (result i32) i32.const 2))
  (core module $app
    (import "lib" "two" (func $two (result i32)))
    (import "host" "log" (func $log (param i32 i32)))
    (func (export "four") (result i32)
      i32.const 16 i32.const 5 call $log
      call $two call $two i32.add))
  (core instance $lib (instantiate $lib))
  (alias core export $lib "memory" (core memory $mem))
  (alias export $host "log" (func $log))
  (core func $log (canon lower (func $log) (memory $mem)))
  (core instance $args (export "log" (func $log)))
  (core instance $app (instantiate $app (with "lib" (instance $lib)) (with "host" (instance $args))))
  (func (export "four") (result u32) (canon lift (core func $app "four")))
)
