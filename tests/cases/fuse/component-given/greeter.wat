;; Provides demo:greet/api@0.2.3.
(component
  (core module $m
    (memory (export "mem") 1)
    (data (i32.const 16) "hello")
    (func (export "hello") (result i32)
      i32.const 0
      i32.const 16
      i32.store
      i32.const 4
      i32.const 5
      i32.store
      i32.const 0))
  (core instance $i (instantiate $m))
  (func $hello (result string)
    (canon lift (core func $i "hello") (memory (core memory $i "mem"))))
  (instance $api (export "hello" (func $hello)))
  (export "demo:greet/api@0.2.3" (instance $api)))
