# The app: a wasi:cli/run command. componentize-py's runtime fills os.environ
# and sys.argv from the wasi:cli/environment import on the first call, so they
# show whoever provides that import: the host, or a plugged-in layer.
import os
import sys

from wit_world import exports


class Run(exports.Run):
    def run(self) -> None:
        print(f"GREETING={os.environ.get('GREETING')}")
        print(f"args={sys.argv!r}")
