(module (import "@foobar" "f" (func)))
