(module (import "@foobar" "f" (func)) (import "@wasi/fs" "read" (func)))
