(module
  (import "env" "log" (func $log (param i32)))
  (import "a" "mem" (memory 1))
  (data (i32.const 0) "BB")
  (func $start
    ;; Log what is at address 0 when b starts: 'B' (0x42) when b's data was
    ;; applied after a's start.
    i32.const 0
    i32.load8_u
    call $log
    i32.const 8
    i32.const 0
    i32.load8_u
    i32.store8)
  (start $start)
  (func (export "b_peek") (param i32) (result i32)
    local.get 0
    i32.load8_u))
