# The layer: exports wasi:cli/environment with fixed values.
from typing import List, Optional, Tuple

from wit_world import exports


class Environment(exports.Environment):
    def get_environment(self) -> List[Tuple[str, str]]:
        return [("GREETING", "hello from the layer")]

    def get_arguments(self) -> List[str]:
        return ["app", "virtualised"]

    def initial_cwd(self) -> Optional[str]:
        return None
