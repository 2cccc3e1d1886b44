(component (import "Not A Name" (func)))
