;; A member imports an async (wasip3) intrinsic: flatten does not link those.
(component
  (core module $lib (func (export "two") (result i32) i32.const 2))
  (core module $app
    (import "lib" "two" (func $two (result i32)))
    (import "task" "get" (func $get (result i32)))
    (func (export "four") (result i32) call $two call $get i32.add))
  (core instance $lib (instantiate $lib))
  (core func $get (canon context.get i32 0))
  (core instance $task (export "get" (func $get)))
  (core instance $app (instantiate $app (with "lib" (instance $lib)) (with "task" (instance $task))))
  (func (export "four") (result u32) (canon lift (core func $app "four"))))
