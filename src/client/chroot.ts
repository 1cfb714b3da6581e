// Maps client paths to server paths under a chroot ("/app" in "h:2181/app") and back.

export class Chroot {
  /** Normalised chroot without trailing slash, or '' when there is none. */
  readonly prefix: string;

  constructor(chroot: string | undefined) {
    this.prefix = chroot === undefined || chroot === '/' ? '' : chroot;
  }

  toServer(clientPath: string): string {
    if (this.prefix === '') return clientPath;
    return clientPath === '/' ? this.prefix : this.prefix + clientPath;
  }

  /** Paths outside the chroot (never sent by a correct server) are handed back unchanged. */
  toClient(serverPath: string): string {
    const p = this.prefix;
    if (p === '') return serverPath;
    if (serverPath === p) return '/';
    if (serverPath.length > p.length && serverPath.startsWith(p) && serverPath.charCodeAt(p.length) === 0x2f) {
      return serverPath.slice(p.length);
    }
    return serverPath;
  }
}
