"""File moves through Hadoop's FileSystem API, so the same code runs on local disk and on S3 (EMRFS on Glue)."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession


class HadoopFs:
    def __init__(self, spark: SparkSession, any_path: str) -> None:
        jvm: Any = spark.sparkContext._jvm
        self._path_cls = jvm.org.apache.hadoop.fs.Path
        self._fs = self._path_cls(any_path).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())

    def _p(self, path: str) -> Any:
        return self._path_cls(path)

    def exists(self, path: str) -> bool:
        return bool(self._fs.exists(self._p(path)))

    def has_data(self, path: str) -> bool:
        """Whether a directory holds at least one data file (not `_SUCCESS`, `.crc` and the like)."""
        if not self.exists(path):
            return False
        files = self._fs.listFiles(self._p(path), True)
        while files.hasNext():
            name = files.next().getPath().getName()
            if not name.startswith(("_", ".")):
                return True
        return False

    def files(self, directory: str) -> list[str]:
        """Full paths of the data files directly in `directory` (empty when it does not exist)."""
        if not self.exists(directory):
            return []
        out = []
        for status in self._fs.listStatus(self._p(directory)):
            name = status.getPath().getName()
            if status.isFile() and not name.startswith(("_", ".")):
                out.append(status.getPath().toString())
        return sorted(out)

    def mkdirs(self, path: str) -> None:
        self._fs.mkdirs(self._p(path))

    def move(self, source: str, target: str) -> None:
        if not self._fs.rename(self._p(source), self._p(target)):
            raise OSError(f"could not move {source} to {target}")

    def delete(self, path: str, recursive: bool = False) -> None:
        self._fs.delete(self._p(path), recursive)
