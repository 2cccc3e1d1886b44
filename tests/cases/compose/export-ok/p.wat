(component
  (core module $m
    (func (export "f") (param i32) (result i32)
      local.get 0 i32.const 2 i32.add))
  (core instance $h)
  (core instance $i (instantiate $m (with "h" (instance $h))))
  (func $f (param "x" u32) (result u32) (canon lift (core func $i "f")))
  (instance $api (export "f" (func $f)))
  (export "demo:a/api@1.0.0" (instance $api)))
