/**
 * A throwaway PKI for tests, made with the `openssl` CLI in a temp
 * directory: a CA, a server certificate for localhost / 127.0.0.1, a client
 * certificate, and a second CA that signed nothing we trust. P-256 keys:
 * they generate in milliseconds and exercise the ECDSA suites of BCP 195.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestPki {
  dir: string;
  /** Paths, for dcmtk's `+tls key cert +cf ca`. */
  files: { ca: string; serverKey: string; serverCert: string; clientKey: string; clientCert: string; otherKey: string; otherCert: string };
  ca: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  clientKey: Buffer;
  clientCert: Buffer;
  /** Self-signed, not under `ca`: a client the server must refuse. */
  otherKey: Buffer;
  otherCert: Buffer;
  remove(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  await run("openssl", args, { cwd });
}

export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "dicom-tls-"));
  const key = (name: string) => openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name], dir);
  await Promise.all([key("ca.key"), key("server.key"), key("client.key"), key("other.key")]);
  await openssl(["req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=dicom-edge test CA", "-days", "1", "-out", "ca.crt"], dir);
  await openssl(["req", "-x509", "-new", "-key", "other.key", "-subj", "/CN=OTHER", "-days", "1", "-out", "other.crt"], dir);
  const issue = async (name: string, cn: string, ext: string) => {
    await writeFile(join(dir, `${name}.ext`), ext);
    await openssl(["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`], dir);
    await openssl(
      ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", `${name}.ext`, "-out", `${name}.crt`],
      dir,
    );
  };
  await issue("server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  await issue("client", "MODALITY", "extendedKeyUsage=clientAuth\n");
  const files = {
    ca: join(dir, "ca.crt"),
    serverKey: join(dir, "server.key"),
    serverCert: join(dir, "server.crt"),
    clientKey: join(dir, "client.key"),
    clientCert: join(dir, "client.crt"),
    otherKey: join(dir, "other.key"),
    otherCert: join(dir, "other.crt"),
  };
  const [ca, serverKey, serverCert, clientKey, clientCert, otherKey, otherCert] = await Promise.all(
    [files.ca, files.serverKey, files.serverCert, files.clientKey, files.clientCert, files.otherKey, files.otherCert].map((f) => readFile(f)),
  );
  return {
    dir,
    files,
    ca: ca!,
    serverKey: serverKey!,
    serverCert: serverCert!,
    clientKey: clientKey!,
    clientCert: clientCert!,
    otherKey: otherKey!,
    otherCert: otherCert!,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
