;; $OUT/out.wasm
(module
  (type (;0;) (func))
  (export "f" (func 0))
  (export "b.f" (func 1))
  (func (;0;) (type 0))
  (func (;1;) (type 0))
)
