;; The root: imports demo:greet/api@1.0.0, exports run() = greet(7).
(component
  (import "demo:greet/api@1.0.0" (instance $g
    (export "greet" (func (param "x" u32) (result u32)))))
  (alias export $g "greet" (func $greet))
  (core func $greet_low (canon lower (func $greet)))
  (core module $m
    (import "host" "greet" (func $greet (param i32) (result i32)))
    (func (export "run") (result i32) i32.const 7 call $greet))
  (core instance $host (export "greet" (func $greet_low)))
  (core instance $i (instantiate $m (with "host" (instance $host))))
  (func $run (result u32) (canon lift (core func $i "run")))
  (export "run" (func $run)))
