# Helpers the comparison scripts share (sourced): medians, wall time, core
# modules in a component, and instantiation time in wasmtime (PyPI wasmtime,
# median of a timed loop over one compiled component). Needs $py (the venv's
# python) and $runs.

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
modules() { "$py" - "$1" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
# Count core module sections at any depth (section id 1 inside components).
def count(b, i=8):
    n = 0
    while i < len(b):
        sid = b[i]; i += 1
        size = shift = 0
        while True:
            x = b[i]; i += 1; size |= (x & 0x7f) << shift; shift += 7
            if x < 0x80: break
        if sid == 1: n += 1
        elif sid == 4: n += count(b[i:i + size], 8)
        i += size
    return n
print(count(data))
PY
}
instantiate_us() { "$py" - "$1" "$runs" <<'PY'
import sys, time, statistics, wasmtime
from wasmtime.component import Component, Linker
engine = wasmtime.Engine()
comp = Component.from_file(engine, sys.argv[1])
linker = Linker(engine)
linker.add_wasip2()
try:
    linker.define_unknown_imports_as_traps(comp)
except Exception:
    pass
times = []
for _ in range(int(sys.argv[2])):
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    t = time.perf_counter()
    linker.instantiate(store, comp)
    times.append((time.perf_counter() - t) * 1e6)
print(int(statistics.median(times)))
PY
}

