(component (import "demo:x/y@1.0.0" (func (param "x" u32) (result u32))))
