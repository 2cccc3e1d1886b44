(component
  (core module $m
    (func (export "f") (param i64) (result i64)
      local.get 0 i64.const 1 i64.add))
  (core instance $h)
  (core instance $i (instantiate $m (with "h" (instance $h))))
  (func $f (param "x" u64) (result u64) (canon lift (core func $i "f")))
  (instance $api (export "f" (func $f)))
  (export "demo:leaf/api@0.2.3" (instance $api)))
