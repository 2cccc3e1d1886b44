(module (import "greeter" "hello" (func (result i32))))
