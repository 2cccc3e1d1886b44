(module (import "../outside/x.wasm" "f" (func)))
