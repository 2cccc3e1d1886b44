#!/usr/bin/env python3
"""Call a fixed set of exports of a jco component with the PyPI `wasmtime`
package and print what each returned, one line per call.

usage: call.py COMPONENT

For `local:wasm-tools/tools` (jco's wasm-tools build): parse a WAT module,
print the binary back, and parse text that is not WAT (an error). Exits 2
when the component cannot be loaded or has none of the known exports.
If this interpreter lacks wasmtime, re-runs itself with the venv that
corpus/build-cpy-pair makes ($WELD_CACHE/tools/py, default ~/.cache/weld).
"""
import os
import sys

try:
    import wasmtime
    from wasmtime.component import Component, Linker
except ImportError:
    cache = os.environ.get("WELD_CACHE") or os.path.expanduser("~/.cache/weld")
    venv = os.path.join(cache, "tools", "py")
    python = os.path.join(venv, "bin", "python")
    if os.path.exists(python) and os.path.abspath(sys.prefix) != os.path.abspath(venv):
        os.execv(python, [python] + sys.argv)
    raise

TOOLS = "local:wasm-tools/tools"
WAT = '(module (memory 1) (func (export "f") (param i32) (result i32) local.get 0 i32.const 7 i32.add))'


def show(v):
    """A result as text: variants by tag, bytes as a digest and length."""
    if hasattr(v, "tag"):
        return f"{v.tag}({show(v.payload)})"
    if isinstance(v, (bytes, bytearray)) or (isinstance(v, list) and all(isinstance(x, int) for x in v)):
        import hashlib
        b = bytes(v)
        return f"bytes[{len(b)}] sha256:{hashlib.sha256(b).hexdigest()[:16]}"
    return repr(v)


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = argv[1]
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = Linker(engine)
    linker.add_wasip2()
    try:
        instance = linker.instantiate(store, Component.from_file(engine, path))
    except wasmtime.WasmtimeError as e:
        print(f"call.py: cannot instantiate {path}: {e}", file=sys.stderr)
        return 2
    iface = instance.get_export_index(store, TOOLS)
    if not iface:
        print(f"call.py: {path} exports no {TOOLS}", file=sys.stderr)
        return 2

    def call(name, *args):
        f = instance.get_func(store, instance.get_export_index(store, name, iface))
        try:
            r = f(store, *args)
            f.post_return(store)
        except wasmtime.WasmtimeError as e:
            return f"trap: {str(e).splitlines()[0]}"
        return r

    binary = call("parse", WAT)
    print("parse:", show(binary))
    payload = getattr(binary, "payload", binary)
    if isinstance(payload, (bytes, bytearray, list)):
        print("print:", show(call("print", bytes(payload))))
    print("parse-bad:", show(call("parse", "(module (func (this is not wat")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
