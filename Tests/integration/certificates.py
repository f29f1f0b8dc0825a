"""Certificates for the TLS tests, made by `openssl` inside the test: a CA,
node certificates naming their addresses, client certificates, and
certificates valid at chosen dates (an expired one)."""
import ssl
import subprocess
from pathlib import Path


def openssl(*args, cwd=None):
    done = subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} failed: {done.stderr}")
    return done.stdout


class CertificateAuthority:
    """A CA in `folder`: `issue` signs a certificate for a name and addresses."""

    def __init__(self, folder, name="Baton test CA"):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.key = self.folder / "ca.key"
        self.cert = self.folder / "ca.crt"
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", self.key)
        openssl("req", "-x509", "-new", "-key", self.key, "-out", self.cert, "-days", "30", "-subj", f"/CN={name}",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        (self.folder / "index.txt").write_text("")
        (self.folder / "serial").write_text("1000\n")
        self.config = self.folder / "ca.cnf"
        self.config.write_text(f"""[ca]
default_ca = issuer
[issuer]
database = {self.folder}/index.txt
new_certs_dir = {self.folder}
serial = {self.folder}/serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
""")

    def issue(self, name, ips=("127.0.0.1",), start=None, end=None, key=None, label=None):
        """(cert path, key path) for `name` naming `ips`; `start`/`end` as YYYYMMDDHHMMSSZ
        (default: valid from now for 30 days); `key`: reuse an existing key file."""
        label = label or name
        key_path = Path(key) if key else self.folder / f"{label}.key"
        if not key:
            openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key_path)
        request = self.folder / f"{label}.csr"
        names = ",".join([f"IP:{ip}" for ip in ips] + [f"DNS:{name}"])
        openssl("req", "-new", "-key", key_path, "-out", request, "-subj", f"/CN={name}",
                "-addext", f"subjectAltName={names}", "-addext", "extendedKeyUsage=serverAuth,clientAuth")
        cert = self.folder / f"{label}.crt"
        dates = (["-startdate", start] if start else []) + (["-enddate", end] if end else ["-days", "30"])
        openssl("ca", "-batch", "-config", self.config, "-keyfile", self.key, "-cert", self.cert, "-in", request,
                "-out", cert, "-notext", *dates)
        return cert, key_path

    def client_context(self, cert=None, key=None):
        """An ssl context that trusts this CA (and presents `cert` when given)."""
        context = ssl.create_default_context(cafile=str(self.cert))
        if cert:
            context.load_cert_chain(str(cert), str(key))
        return context


def der(cert):
    """The DER bytes of a PEM certificate file (what a server presents)."""
    return ssl.PEM_cert_to_DER_cert(Path(cert).read_text())
