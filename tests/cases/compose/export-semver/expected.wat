;; $OUT/out.wasm
(component
  (component $g (;0;)
    (core module $m (;0;)
      (type (;0;) (func (result i32)))
      (memory (;0;) 1)
      (export "mem" (memory 0))
      (export "hello" (func 0))
      (func (;0;) (type 0) (result i32)
        i32.const 0
        i32.const 16
        i32.store
        i32.const 4
        i32.const 5
        i32.store
        i32.const 0
      )
      (data (;0;) (i32.const 16) "hello")
    )
    (core instance $i (;0;) (instantiate $m))
    (type (;0;) (func (result string)))
    (alias core export $i "hello" (core func (;0;)))
    (alias core export $i "mem" (core memory (;0;)))
    (func $hello (;0;) (type 0) (canon lift (core func 0) (memory 0)))
    (instance $api (;0;)
      (export "hello" (func $hello))
    )
    (export (;1;) "demo:greet/api@0.2.3" (instance $api))
  )
  (component $app (;1;)
    (type (;0;)
      (instance
        (type (;0;) (func (result string)))
        (export (;0;) "hello" (func (type 0)))
      )
    )
    (import "demo:greet/api@0.2.0" (instance $api (;0;) (type 0)))
    (alias export $api "hello" (func $hello (;0;)))
    (export (;1;) "run" (func $hello))
  )
  (instance $g (;0;) (instantiate $g))
  (alias export $g "demo:greet/api@0.2.3" (instance (;1;)))
  (instance $app (;2;) (instantiate $app
      (with "demo:greet/api@0.2.0" (instance 1))
    )
  )
  (alias export $app "run" (func (;0;)))
  (export $run (;1;) "run" (func 0))
  (alias export $g "demo:greet/api@0.2.3" (instance (;3;)))
  (export $demo:greet/api@0.2.3 (;4;) "demo:greet/api@0.2.3" (instance 3))
)
