(module (import "/etc/x.wasm" "f" (func)))
