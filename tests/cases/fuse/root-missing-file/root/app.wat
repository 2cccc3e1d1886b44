(module (import "./nope.wasm" "f" (func)))
