(module (import "./lib/x.wasm" "f" (func)) (import "util" "g" (func)) (func (export "main") call 0 call 1))
