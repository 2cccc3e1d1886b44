;; Imports demo:greet/api at 0.2.0; greeter provides 0.2.3, which the semver
;; rule (same 0.2 track) accepts.
(component
  (import "demo:greet/api@0.2.0" (instance $api
    (export "hello" (func (result string)))))
  (alias export $api "hello" (func $hello))
  (export "run" (func $hello)))
