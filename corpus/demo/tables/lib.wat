(module
  (type $un (func (param i32) (result i32)))
  (table (export "table") 8 funcref)
  (func $double (type $un) local.get 0 i32.const 2 i32.mul)
  (func $square (type $un) local.get 0 local.get 0 i32.mul)
  (elem (i32.const 0) $double $square)
  (func (export "apply") (param $f i32) (param $x i32) (result i32)
    local.get $x
    local.get $f
    call_indirect (type $un)))
