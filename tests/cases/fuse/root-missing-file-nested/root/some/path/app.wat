(module (import "./foobar.wasm" "f" (func)))
