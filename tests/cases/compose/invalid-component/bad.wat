(component
  (core module $m (func (export "f") (param i64)))
  (core instance $i (instantiate $m))
  (func $f (param "x" u32) (canon lift (core func $i "f")))
  (export "f" (func $f)))
