;; Uses lib's `used`; its own `$app_orphan` is reached by nothing.
(module
  (import "lib" "used" (func $used (param i32) (result i32)))
  (func $app_orphan (param i32) (result i32) local.get 0 call $used)
  (func (export "run") (param i32) (result i32) local.get 0 call $used i32.const 1 i32.add))
