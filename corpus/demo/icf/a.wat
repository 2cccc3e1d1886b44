;; Helpers that b also carries: a leaf, and a mutually recursive pair.
(module
  (func $scale (param i32) (result i32) local.get 0 i32.const 7 i32.mul)
  (func $even (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 1 else local.get 0 i32.const 1 i32.sub call $odd end)
  (func $odd (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0 else local.get 0 i32.const 1 i32.sub call $even end)
  (func (export "a_scale") (param i32) (result i32) local.get 0 call $scale)
  (func (export "a_even") (param i32) (result i32) local.get 0 call $even))
