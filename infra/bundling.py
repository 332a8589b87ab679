"""Docker-free asset building: Lambda bundles from manylinux wheels and a zip of `dataplatform` for Glue.

CDK normally bundles Python in a Docker container. This machine class has no Docker engine, so every asset is
built on the host: pip downloads wheels for the Lambda platform (manylinux2014_x86_64, CPython 3.12) with
`--only-binary=:all:`, which never compiles anything, so the result is the same on any host OS.
"""

from __future__ import annotations

import hashlib
import modulefinder
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_12
LAMBDA_ARCHITECTURE = lambda_.Architecture.X86_64
# Must match LAMBDA_RUNTIME and LAMBDA_ARCHITECTURE: the wheels pip selects are only valid for this pair.
# python3.12 Lambdas run on Amazon Linux 2023 (glibc 2.34), so manylinux_2_28 wheels load too; recent pyarrow
# releases publish only those for x86_64.
PIP_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
PIP_PYTHON_VERSION = "3.12"

# Parts of wheels no pipeline Lambda loads, removed to stay well under Lambda's 250 MB unzipped limit:
# pyarrow's Flight libraries (~31 MB), C++ headers, Cython sources and test suite. (libarrow_substrait must
# stay: pyarrow.lib links it.)
PRUNE_GLOBS = (
    "pyarrow/tests",
    "pyarrow/include",
    "pyarrow/src",
    "pyarrow/*.pyx",
    "pyarrow/*.pxd",
    "pyarrow/libarrow_flight.so*",
    "pyarrow/_flight.*.so",
    "pyarrow/libarrow_python_flight.so*",
    "pyarrow/flight.py",
)
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
# Fixed timestamp so the zip (and its asset hash) only changes when file contents change.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class MissingAssetError(FileNotFoundError):
    """A path an asset is built from does not exist (e.g. a Lambda folder that has not landed yet)."""


def require_path(path: Path, what: str) -> Path:
    if not path.exists():
        raise MissingAssetError(f"{what}: {path} does not exist")
    return path


def _source_files(directory: Path) -> list[Path]:
    """Files under `directory` in a stable order, without caches and bytecode."""
    files: list[Path] = []
    for current, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        files.extend(Path(current) / n for n in sorted(names) if not n.endswith(_SKIP_SUFFIXES))
    return files


def fingerprint(*paths: Path, extra: str = "", files: tuple[tuple[Path, Path], ...] = ()) -> str:
    """sha256 over the relative names and contents of files (directories are walked); `files` adds single files
    as (file, the directory its name is taken relative to)."""
    digest = hashlib.sha256(extra.encode())
    named = [(file, root.parent) for root in paths for file in (_source_files(root) if root.is_dir() else [root])]
    for file, base in [*named, *files]:
        digest.update(file.relative_to(base).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


RUNTIME_PACKAGE = "dataplatform"


def runtime_files(root: Path, entry: Path) -> list[Path]:
    """The `dataplatform` files a Lambda handler or Glue script needs: every module it imports, at import time or
    inside a function, directly or through other `dataplatform` modules (with their packages' `__init__.py`),
    plus the data files (SQL, YAML, JSON) beside them. Developer tooling it never imports (the local runner, the
    DuckDB engine, the CLI) stays out, so changing that tooling changes no asset hash.

    The finder searches only `root`: imports of third-party or standard modules are not followed.
    """
    finder = modulefinder.ModuleFinder(path=[str(root)])
    finder.run_script(str(entry))
    modules = [m for name, m in finder.modules.items() if name.split(".")[0] == RUNTIME_PACKAGE and m.__file__]
    files = {Path(m.__file__).resolve() for m in modules}
    for directory in {f.parent for f in files}:
        files.update(p.resolve() for p in directory.iterdir() if p.is_file() and p.suffix in DATA_SUFFIXES)
        for data_dir in (directory / name for name in DATA_DIRS):
            files.update(f.resolve() for f in _source_files(data_dir) if data_dir.is_dir())
    return sorted(files)


DATA_SUFFIXES = (".sql", ".yaml", ".json", ".csv")
"""Package data shipped beside the runtime modules that read it (pyproject's package-data)."""
DATA_DIRS = ("templates", "static")
"""Folders of package data beside a module, shipped whole: the console's Jinja2 templates, CSS, JS and uPlot."""


def _copy_files(files: list[Path], base: Path, dst: Path) -> None:
    for file in files:
        target = dst / file.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)


def _copy_tree(src: Path, dst: Path) -> None:
    for file in _source_files(src):
        target = dst / file.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)


def install_wheels(requirements: Path, target: Path, cache_dir: Path) -> None:
    """pip-install the Lambda platform's wheels for `requirements` into `target`.

    The site-packages tree is cached per requirements hash in `cache_dir`, so a second synth (or two functions
    with the same pins) does not run pip again.
    """
    key = fingerprint(requirements, extra=f"{PIP_PLATFORMS}-{PIP_PYTHON_VERSION}-{PRUNE_GLOBS}")[:24]
    cached = cache_dir / key
    if not cached.is_dir():
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=cache_dir))
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--requirement", str(requirements),
            *(arg for platform in PIP_PLATFORMS for arg in ("--platform", platform)),
            "--implementation", "cp", "--python-version", PIP_PYTHON_VERSION,
            "--only-binary=:all:", "--target", str(staging),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise RuntimeError(f"pip could not install {requirements} for {PIP_PLATFORMS}:\n{result.stderr.strip()}")
        for pattern in PRUNE_GLOBS:
            for path in staging.glob(pattern):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        staging.rename(cached)  # atomic: a half-written cache entry is never used
    shutil.copytree(cached, target, dirs_exist_ok=True)


@jsii.implements(ILocalBundling)
class LocalPythonBundler:
    """Builds one Lambda bundle on the host: wheels, the `dataplatform` package, pipeline.yaml and the handler."""

    def __init__(
        self, root: Path, function_dir: Path, config_file: Path, folders: tuple[tuple[Path, str], ...] = ()
    ) -> None:
        self.root = root
        self.function_dir = function_dir
        self.config_file = config_file
        self.folders = folders
        """(directory, name in the bundle) copied whole, e.g. the pipeline's sql/ for the API's console."""

    def try_bundle(self, output_dir: str, *_options: object, **_kw: object) -> bool:
        # jsii passes BundlingOptions positionally or as keywords depending on version; none are needed here.
        out = Path(output_dir)
        requirements = self.function_dir / "requirements.txt"
        if requirements.is_file():
            install_wheels(requirements, out, self.root / "build" / "lambda-deps")
        _copy_files(runtime_files(self.root, self.function_dir / "handler.py"), self.root, out)
        shutil.copy2(self.config_file, out / "pipeline.yaml")
        for folder, name in self.folders:
            _copy_tree(folder, out / name)
        _copy_tree(self.function_dir, out)
        return True


def lambda_asset_hash(root: Path, name: str, config_file: Path, folders: tuple[tuple[Path, str], ...] = ()) -> str:
    """Hash of everything that goes into `lambdas/<name>`'s bundle: the handler folder (incl. requirements.txt),
    the `dataplatform` modules the handler imports, pipeline.yaml and the wheel platform. The function is
    redeployed exactly when one of them changes."""
    function_dir = require_path(root / "lambdas" / name, f"Lambda function '{name}'")
    handler = require_path(function_dir / "handler.py", f"Lambda function '{name}' handler")
    require_path(root / RUNTIME_PACKAGE, "the dataplatform package")
    modules = tuple((file, root) for file in runtime_files(root, handler))
    extra = f"{PIP_PLATFORMS}-{PIP_PYTHON_VERSION}-{PRUNE_GLOBS}" + "".join(f"-{n}" for _, n in folders)
    return fingerprint(function_dir, config_file, *(folder for folder, _ in folders), files=modules, extra=extra)


def lambda_code(root: Path, name: str, config_file: Path, folders: tuple[tuple[Path, str], ...] = ()) -> lambda_.Code:
    """Asset for `lambdas/<name>`: built locally, never in Docker, hashed by `lambda_asset_hash`."""
    function_dir = root / "lambdas" / name
    asset_hash = lambda_asset_hash(root, name, config_file, folders)
    return lambda_.Code.from_asset(
        str(function_dir),
        asset_hash=asset_hash,
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            # Only used if local bundling declined, which LocalPythonBundler never does.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
            local=LocalPythonBundler(root, function_dir, config_file, folders),
        ),
    )


def dataplatform_zip(root: Path, script: Path) -> Path:
    """A deterministic zip of the `dataplatform` modules the Glue script imports, for `--extra-py-files`.

    Written to build/glue/ under a content-hash name, so the Glue asset only changes with those modules.
    """
    require_path(root / RUNTIME_PACKAGE, "the dataplatform package")
    files = runtime_files(root, script)
    digest = fingerprint(files=tuple((file, root) for file in files))[:16]
    out = root / "build" / "glue" / f"dataplatform-{digest}.zip"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_suffix(f".{os.getpid()}.tmp")
    with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            info = zipfile.ZipInfo(file.relative_to(root).as_posix(), date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    staging.replace(out)
    return out


def bundle_size(directory: Path) -> int:
    """Unzipped size in bytes of a bundle directory (the number Lambda's 250 MB limit applies to)."""
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
