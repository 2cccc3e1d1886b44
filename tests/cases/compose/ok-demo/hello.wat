;; Provides demo:hello/api@0.2.3: hello(x) = 2x + 1.
(component
  (core module $m
    (func (export "hello") (param i32) (result i32)
      local.get 0 i32.const 2 i32.mul i32.const 1 i32.add))
  (core instance $i (instantiate $m))
  (func $hello (param "x" u32) (result u32) (canon lift (core func $i "hello")))
  (instance $api (export "hello" (func $hello)))
  (export "demo:hello/api@0.2.3" (instance $api)))
