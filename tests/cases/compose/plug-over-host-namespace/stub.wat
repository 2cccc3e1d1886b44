(component
  (core module $m (func (export "f") (result i32) i32.const 42))
  (core instance $i (instantiate $m))
  (func $f (result u32) (canon lift (core func $i "f")))
  (instance $api (export "f" (func $f)))
  (export "wasi:cli/stub@0.2.3" (instance $api)))
