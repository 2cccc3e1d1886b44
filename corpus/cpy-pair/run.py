#!/usr/bin/env python3
"""Run a wasi:cli/run@0.2.0 component with the PyPI `wasmtime` package.

usage: run.py COMPONENT [ARGS...]

The component gets Wasmtime's WASI p2 with stdout/stderr inherited, the
environment GREETING=from-the-host and the arguments [COMPONENT, ARGS...].
Exits with the component's status: 0 for ok, 1 for err, the code it gave
wasi:cli/exit, or 2 if it could not be loaded or run (usage, link, trap).
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

RUN = "wasi:cli/run@0.2.0"


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = argv[1]

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    wasi.argv = [path] + argv[2:]
    wasi.env = [("GREETING", "from-the-host")]
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)

    linker = Linker(engine)
    linker.add_wasip2()
    try:
        instance = linker.instantiate(store, Component.from_file(engine, path))
    except wasmtime.WasmtimeError as e:
        print(f"run.py: cannot instantiate {path}: {e}", file=sys.stderr)
        return 2

    iface = instance.get_export_index(store, RUN)
    index = iface and instance.get_export_index(store, "run", iface)
    func = index and instance.get_func(store, index)
    if not func:
        print(f"run.py: {path} does not export {RUN}#run", file=sys.stderr)
        return 2

    try:
        result = func(store)  # result<_, _>: a Variant tagged "ok" or "err"
        func.post_return(store)
    except wasmtime.ExitTrap as e:  # the guest called wasi:cli/exit
        return e.code
    except wasmtime.WasmtimeError as e:
        print(f"run.py: {path} trapped: {e}", file=sys.stderr)
        return 2
    return 0 if getattr(result, "tag", "ok") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
