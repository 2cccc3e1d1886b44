(module (import "https://example.invalid/x.wasm" "f" (func)))
