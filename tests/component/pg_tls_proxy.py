"""A TLS front for the embedded PostgreSQL (pgserver listens only on a Unix socket and is built without SSL).

It speaks the start of Postgres' wire protocol on 127.0.0.1: answers the client's SSLRequest with 'S' and does
the TLS handshake with a certificate for 127.0.0.1 signed by a throwaway CA (or answers 'N' when `tls=False`),
then relays bytes to the Unix socket. So libpq's real sslmode/sslrootcert handling is exercised end to end.
"""

from __future__ import annotations

import datetime
import ipaddress
import select
import socket
import ssl
import struct
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


def make_ca_and_server_cert(directory: Path) -> tuple[str, Path, Path]:
    """(CA certificate PEM, server certificate file, server key file) for 127.0.0.1."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dataplatform test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.crt", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file


def unix_socket_of(pg_uri: str) -> str:
    query = parse_qs(urlsplit(pg_uri).query)
    port = urlsplit(pg_uri).port or 5432
    return f"{query['host'][0]}/.s.PGSQL.{port}"


class TlsProxy:
    def __init__(self, pg_uri: str, *, tls: bool = True) -> None:
        self.target = unix_socket_of(pg_uri)
        self.tls = tls
        self.tls_sessions = 0
        self._dir = Path(tempfile.mkdtemp(prefix="pg-tls-"))
        self.ca_pem, cert, key = make_ca_and_server_cert(self._dir)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def uri(self, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres" + (f"?{query}" if query else "")

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            first = self._negotiate(client)
            if first is None:
                return
            conn, leftover = first
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            if leftover:
                upstream.sendall(leftover)
            self._pump(conn, upstream)
        except (OSError, ssl.SSLError):
            pass
        finally:
            client.close()

    def _negotiate(self, client: socket.socket) -> tuple[Any, bytes] | None:
        while True:
            header = _read_exact(client, 8)
            length, code = struct.unpack("!ii", header)
            if length == 8 and code == GSSENC_REQUEST:
                client.sendall(b"N")
                continue
            if length == 8 and code == SSL_REQUEST:
                if not self.tls:
                    client.sendall(b"N")
                    return client, b""
                client.sendall(b"S")
                conn = self._context.wrap_socket(client, server_side=True)
                self.tls_sessions += 1
                return conn, b""
            return client, header  # a plain startup message: relay it as is

    @staticmethod
    def _pump(a: Any, b: socket.socket) -> None:
        sockets = [a, b]
        while True:
            pending = a.pending() if isinstance(a, ssl.SSLSocket) else 0
            readable = [a] if pending else select.select(sockets, [], [], 30)[0]
            if not readable:
                return
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("client closed")
        data += chunk
    return data
