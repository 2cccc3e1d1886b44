;; Imports demo:hello/api@0.2.0 (semver-compatible with 0.2.3), provides
;; demo:greet/api@1.0.0: greet(x) = hello(x) + 100.
(component
  (import "demo:hello/api@0.2.0" (instance $h
    (export "hello" (func (param "x" u32) (result u32)))))
  (alias export $h "hello" (func $hello))
  (core func $hello_low (canon lower (func $hello)))
  (core module $m
    (import "host" "hello" (func $hello (param i32) (result i32)))
    (func (export "greet") (param i32) (result i32)
      local.get 0 call $hello i32.const 100 i32.add))
  (core instance $host (export "hello" (func $hello_low)))
  (core instance $i (instantiate $m (with "host" (instance $host))))
  (func $greet (param "x" u32) (result u32) (canon lift (core func $i "greet")))
  (instance $api (export "greet" (func $greet)))
  (export "demo:greet/api@1.0.0" (instance $api)))
