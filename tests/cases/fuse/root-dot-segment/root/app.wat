(module (import "./lib/./x.wasm" "f" (func)))
