;; a's start writes to the memory that b's active data segment then
;; overwrites: fusing must keep "a's start, then b's segments, then b's start".
(module
  (import "env" "log" (func $log (param i32)))
  (memory (export "mem") 1)
  (data (i32.const 4) "AAAA")
  (func $start
    i32.const 0
    i32.const 0x11
    i32.store8
    i32.const 1
    call $log)
  (start $start)
  (func (export "a_peek") (param i32) (result i32)
    local.get 0
    i32.load8_u))
