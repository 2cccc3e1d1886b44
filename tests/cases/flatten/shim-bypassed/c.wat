;; The shape wit-component gives a program with an adapter: main imports the
;; adapter's function through a shim stub (call_indirect over the shim's
;; table), and a fixup fills the table once the adapter exists. Flattened:
;; main calls the adapter directly; shim and fixup are gone.
(component
  (core module $shim
    (type $t (func (param i32) (result i32)))
    (table (export "$imports") 1 1 funcref)
    (func (export "0") (type $t) local.get 0 i32.const 0 call_indirect (type $t)))
  (core module $adapter
    (func (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))
  (core module $main
    (import "a" "double" (func $d (param i32) (result i32)))
    (func (export "run") (result i32) i32.const 21 call $d))
  (core module $fixup
    (import "" "$imports" (table 1 1 funcref))
    (import "" "0" (func $f (param i32) (result i32)))
    (elem (i32.const 0) func $f))
  (core instance $shim (instantiate $shim))
  (alias core export $shim "0" (core func $stub))
  (core instance $main-args (export "double" (func $stub)))
  (core instance $main (instantiate $main (with "a" (instance $main-args))))
  (core instance $adapter (instantiate $adapter))
  (alias core export $shim "$imports" (core table $table))
  (alias core export $adapter "double" (core func $double))
  (core instance $fixup-args (export "$imports" (table $table)) (export "0" (func $double)))
  (core instance $fixup (instantiate $fixup (with "" (instance $fixup-args))))
  (func (export "run") (result u32) (canon lift (core func $main "run"))))
