(component
  (import "demo:a/api@1.0.0" (instance $u0 (export "f" (func (param "x" u32) (result u32)))))
  (alias export $u0 "f" (func $uf0))
  (core func $ul0 (canon lower (func $uf0)))
  (core module $m
    (import "h" "u0" (func $c0 (param i32) (result i32)))
    (func (export "f") (param i32) (result i32)
      local.get 0 call $c0 i32.const 1 i32.add))
  (core instance $h (export "u0" (func $ul0)))
  (core instance $i (instantiate $m (with "h" (instance $h))))
  (func $f (param "x" u32) (result u32) (canon lift (core func $i "f")))
  (instance $api (export "f" (func $f)))
  (export "demo:app/api@1.0.0" (instance $api)))
