#!/bin/sh
# Generates a CA and one certificate per member/client with Debian's openssl, in the forms a
# zoo.cfg can name: PEM key store (key + chain in one file), PKCS12 key store, PEM and PKCS12
# trust stores. Usage: scripts/gen-certs.sh OUT_DIR NAME... (e.g. zk1 zk2 zk3 client)
# Each certificate has SANs DNS:<name>, DNS:localhost and IP:127.0.0.1, and subject
# O=zabkeeper,CN=<name> (its x509 ACL id is "CN=<name>,O=zabkeeper").
# SAN overrides the subject alternative names (e.g. SAN=DNS:zk1.example.com).
# STORE_PASSWORD (default "changeit") protects the PKCS12 files; CA_NAME names the CA (default
# "zabkeeper-ca"); DAYS the validity (default 825).
set -eu

if [ "$#" -lt 2 ]; then
  echo "usage: $0 OUT_DIR NAME..." >&2
  exit 2
fi
command -v openssl >/dev/null 2>&1 || { echo "$0: openssl is required (apt-get install openssl)" >&2; exit 1; }

out=$1
shift
pass=${STORE_PASSWORD:-changeit}
ca_name=${CA_NAME:-zabkeeper-ca}
days=${DAYS:-825}
if [ "${#pass}" -lt 6 ]; then
  echo "$0: STORE_PASSWORD must have at least 6 characters (keytool's rule)" >&2
  exit 2
fi
mkdir -p "$out"
umask 077

if [ ! -f "$out/ca.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
    -keyout "$out/ca.key" -out "$out/ca.pem" -subj "/O=zabkeeper/CN=$ca_name" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
cp "$out/ca.pem" "$out/truststore.pem"
rm -f "$out/truststore.p12"
if command -v keytool >/dev/null 2>&1; then
  # Java reads a PKCS12 trust store only when its certificates carry the trusted-cert attribute
  # keytool writes (openssl 3.0 cannot); zabkeeper reads either.
  keytool -importcert -noprompt -alias ca -file "$out/ca.pem" -keystore "$out/truststore.p12" \
    -storetype PKCS12 -storepass "$pass" >/dev/null 2>&1
else
  echo "$0: keytool not found; truststore.p12 made by openssl (fine for zabkeeper, not for Java clients)" >&2
  openssl pkcs12 -export -nokeys -in "$out/ca.pem" -out "$out/truststore.p12" -passout "pass:$pass" -name ca
fi

for name in "$@"; do
  ext=$(mktemp)
  san=${SAN:-DNS:$name,DNS:localhost,IP:127.0.0.1}
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$san" > "$ext"
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$out/$name.key" -out "$out/$name.csr" -subj "/O=zabkeeper/CN=$name" 2>/dev/null
  openssl x509 -req -sha256 -days "$days" -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -CAcreateserial -out "$out/$name.pem" -extfile "$ext" 2>/dev/null
  rm -f "$ext" "$out/$name.csr"
  # ZooKeeper's PEM key store: private key and certificate chain in one file.
  cat "$out/$name.key" "$out/$name.pem" "$out/ca.pem" > "$out/$name-keystore.pem"
  openssl pkcs12 -export -in "$out/$name.pem" -inkey "$out/$name.key" -certfile "$out/ca.pem" \
    -out "$out/$name.p12" -passout "pass:$pass" -name "$name"
done
echo "certificates for $* in $out (CA: $out/ca.pem)"
