;; $OUT/out.wasm
(component
  (type (;0;)
    (instance
      (type (;0;) (func (param "s" string)))
      (export (;0;) "log" (func (type 0)))
    )
  )
  (import "host" (instance $host (;0;) (type 0)))
  (alias export $host "log" (func $log (;0;)))
  (core module $weld:flattened (;0;)
    (type (;0;) (func (param i32 i32)))
    (type (;1;) (func (param i32 i32 i32 i32) (result i32)))
    (type (;2;) (func (result i32)))
    (table (;0;) 1 1 funcref)
    (memory (;0;) 1)
    (export "memory" (memory 0))
    (export "four" (func 2))
    (export "weld:late-table" (table 0))
    (elem (;0;) declare func 0 1)
    (func (;0;) (type 2) (result i32)
      i32.const 2
    )
    (func (;1;) (type 0) (param i32 i32)
      local.get 0
      local.get 1
      i32.const 0
      call_indirect (type 0)
    )
    (func (;2;) (type 2) (result i32)
      i32.const 16
      i32.const 5
      call 1
      call 0
      call 0
      i32.add
    )
    (data (;0;) (i32.const 16) "hello")
  )
  (core instance $weld:flattened (;0;) (instantiate $weld:flattened))
  (alias core export $weld:flattened "memory" (core memory $mem (;0;)))
  (core func $log (;0;) (canon lower (func $log) (memory $mem)))
  (core module $weld:fixup (;1;)
    (type (;0;) (func (param i32 i32)))
    (import "" "weld:late-table" (table (;0;) 1 1 funcref))
    (import "" "0" (func (;0;) (type 0) (param i32 i32)))
    (elem (;0;) (table 0) (i32.const 0) func 0)
  )
  (alias core export $weld:flattened "weld:late-table" (core table (;0;)))
  (core instance (;1;)
    (export "weld:late-table" (table 0))
    (export "0" (func $log))
  )
  (core instance $weld:fixup (;2;) (instantiate $weld:fixup
      (with "" (instance 1))
    )
  )
  (type (;1;) (func (result u32)))
  (alias core export $weld:flattened "four" (core func (;1;)))
  (func (;1;) (type 1) (canon lift (core func 1)))
  (export (;2;) "four" (func 1))
)
