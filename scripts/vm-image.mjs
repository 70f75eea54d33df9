#!/usr/bin/env node
// Builds a small guest image for the ivshmem tests from Debian packages, in a
// cache folder (.cache/vm/, git-ignored):
//   vmlinuz       the Debian cloud kernel (linux-image-cloud-amd64), unpacked
//                 with dpkg-deb: PCI, ACPI PCI hot-plug, 8250 console and
//                 sysfs BAR mmap are built in, so no modules are needed
//   base.cpio     busybox-static, /init, node and the shared libraries ldd
//                 lists for it and for the addon (libpcap too when present)
//   initrd.cpio   base.cpio followed by a fresh archive of the project's
//                 dist/, build/Release/ringzero.node and a package.json (the
//                 kernel unpacks concatenated newc archives one after another)
// Archives are uncompressed: gunzip of ~100 MB under TCG costs seconds.
//
// /init mounts proc, sys, dev, /tmp and /dev/shm (as every distribution does), then runs the shell command passed base64
// encoded as `rzcmd=` on the kernel command line, prints "RZ-EXIT <status>"
// on the serial console and powers off.
//
// Usage: node scripts/vm-image.mjs        (prints the paths as JSON)
// Env:   RINGZERO_VM_KERNEL=/path/vmlinuz  use this kernel instead of downloading one
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILDER_VERSION = 1; // bump when the base image's contents change

/** Thrown when the image cannot be built here; tests skip with its message. */
export class VmImageUnavailable extends Error {}

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin HOME=/ LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
cmd=$(sed -n 's/.*rzcmd=\\([A-Za-z0-9+/=]*\\).*/\\1/p' /proc/cmdline | base64 -d)
echo "RZ-BOOTED $(cut -d' ' -f1 /proc/uptime)"
cd /rz
sh -c "$cmd"
echo "RZ-EXIT $?"
poweroff -f
`;

// ---- newc cpio (the kernel's initramfs format, Documentation/driver-api/early-userspace/buffer-format.rst)

class CpioWriter {
  constructor(path) {
    this.fd = openSync(path, 'w', 0o644);
    this.ino = 1;
    this.dirs = new Set();
  }
  #header(name, mode, size, rdevMajor = 0, rdevMinor = 0) {
    const fields = [this.ino++, mode, 0, 0, 1, 0, size, 0, 0, rdevMajor, rdevMinor, Buffer.byteLength(name) + 1, 0];
    const head = '070701' + fields.map((n) => n.toString(16).padStart(8, '0')).join('');
    this.#write(Buffer.from(head + name + '\0'));
  }
  #write(buf) {
    writeSync(this.fd, buf);
    this.pos = (this.pos ?? 0) + buf.length;
    const pad = (4 - (this.pos % 4)) % 4; // header+name and data are each padded to 4 bytes
    if (pad) { writeSync(this.fd, Buffer.alloc(pad)); this.pos += pad; }
  }
  dir(name) {
    if (name === '' || this.dirs.has(name)) return;
    this.dir(dirname(name) === '.' ? '' : dirname(name));
    this.dirs.add(name);
    this.#header(name, 0o040755, 0);
  }
  file(name, data, mode = 0o644) {
    this.dir(dirname(name) === '.' ? '' : dirname(name));
    this.#header(name, 0o100000 | mode, data.length);
    this.#write(data);
  }
  charDev(name, major, minor) {
    this.dir(dirname(name));
    this.#header(name, 0o020600, 0, major, minor);
  }
  close() {
    this.#header('TRAILER!!!', 0, 0);
    closeSync(this.fd);
  }
}

// ---- inputs

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

function aptDownload(pkg, dir) {
  mkdirSync(dir, { recursive: true });
  try {
    run('apt-get', ['download', pkg], { cwd: dir });
  } catch (e) {
    throw new VmImageUnavailable(`cannot download the Debian package ${pkg} with apt-get (${String(e.stderr || e.message).trim().split('\n').pop()}): run apt-get update, or set RINGZERO_VM_KERNEL`);
  }
  const deb = readdirSync(dir).find((f) => f.startsWith(pkg + '_') && f.endsWith('.deb'));
  if (!deb) throw new VmImageUnavailable(`apt-get download ${pkg} left no .deb in ${dir}`);
  return join(dir, deb);
}

function unpack(deb, into) {
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  run('dpkg-deb', ['-x', deb, into]);
}

function kernel(cache) {
  const given = process.env.RINGZERO_VM_KERNEL;
  if (given) {
    if (!existsSync(given)) throw new VmImageUnavailable(`RINGZERO_VM_KERNEL=${given} does not exist`);
    return given;
  }
  const out = join(cache, 'vmlinuz');
  if (existsSync(out)) return out;
  if (process.arch !== 'x64') throw new VmImageUnavailable(`the guest image is built for x86-64 (qemu-system-x86_64); this is ${process.arch}`);
  // linux-image-cloud-amd64 is a metapackage: its dependency is the real kernel.
  let real;
  try {
    real = /Depends:\s*(linux-image-\S+)/.exec(run('apt-cache', ['depends', 'linux-image-cloud-amd64']))?.[1];
  } catch { /* below */ }
  if (!real) throw new VmImageUnavailable('apt-cache does not know linux-image-cloud-amd64 (not Debian, or no apt lists): run apt-get update, or set RINGZERO_VM_KERNEL');
  const tmp = join(cache, 'kernel-pkg');
  const deb = aptDownload(real, join(cache, 'debs'));
  unpack(deb, tmp);
  rmSync(deb, { force: true });
  const boot = join(tmp, 'boot');
  const img = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!img) throw new VmImageUnavailable(`${real} has no /boot/vmlinuz-*`);
  copyFileSync(join(boot, img), out + '.tmp');
  renameSync(out + '.tmp', out);
  rmSync(tmp, { recursive: true, force: true });
  return out;
}

function busybox(cache) {
  const out = join(cache, 'busybox');
  if (existsSync(out)) return out;
  const tmp = join(cache, 'busybox-pkg');
  const deb = aptDownload('busybox-static', join(cache, 'debs'));
  unpack(deb, tmp);
  rmSync(deb, { force: true });
  copyFileSync(join(tmp, 'bin', 'busybox'), out);
  rmSync(tmp, { recursive: true, force: true });
  return out;
}

/** Shared libraries (and the ELF interpreter) a binary loads, from ldd. */
function sharedLibs(binary) {
  let text;
  try { text = run('ldd', [binary]); } catch (e) { throw new VmImageUnavailable(`ldd ${binary} failed: ${e.message}`); }
  const libs = [];
  for (const line of text.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

const LIBPCAP = ['/usr/lib/x86_64-linux-gnu/libpcap.so.0.8', '/lib/x86_64-linux-gnu/libpcap.so.0.8'];

// ---- archives

function buildBase(root, cache, busyboxPath) {
  const node = realpathSync(process.execPath);
  const addon = join(root, 'build/Release/ringzero.node');
  const pcap = LIBPCAP.find((p) => existsSync(p));
  const libs = new Set([...sharedLibs(node), ...(existsSync(addon) ? sharedLibs(addon) : []), ...(pcap ? [pcap, ...sharedLibs(pcap)] : [])]);
  const inputs = [node, busyboxPath, ...libs].map((p) => `${p}:${statSync(p).size}:${statSync(p).mtimeMs}`);
  const key = createHash('sha256').update(JSON.stringify([BUILDER_VERSION, INIT, inputs])).digest('hex').slice(0, 16);
  const out = join(cache, `base-${key}.cpio`);
  if (existsSync(out)) return out;
  for (const f of readdirSync(cache)) if (/^base-.*\.cpio$/.test(f)) rmSync(join(cache, f), { force: true });
  const w = new CpioWriter(out + '.tmp');
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'rz', 'bin', 'usr/bin']) w.dir(d);
  w.charDev('dev/console', 5, 1); // the kernel opens it for init's stdio before devtmpfs is mounted
  w.file('init', Buffer.from(INIT), 0o755);
  w.file('bin/busybox', readFileSync(busyboxPath), 0o755);
  w.file('usr/bin/node', readFileSync(node), 0o755);
  for (const lib of libs) w.file(lib.slice(1), readFileSync(lib), 0o755);
  w.close();
  renameSync(out + '.tmp', out);
  return out;
}

function addTree(w, from, to, keep) {
  for (const name of readdirSync(from)) {
    const p = join(from, name);
    const st = statSync(p);
    if (st.isDirectory()) addTree(w, p, `${to}/${name}`, keep);
    else if (keep(name)) w.file(`${to}/${name}`, readFileSync(p));
  }
}

function buildApp(root, cache) {
  const addon = join(root, 'build/Release/ringzero.node');
  if (!existsSync(addon)) throw new VmImageUnavailable('build/Release/ringzero.node is missing: run npm ci (or npx node-gyp rebuild)');
  if (!existsSync(join(root, 'dist/src'))) throw new VmImageUnavailable('dist/ is missing: run npx tsc -p tsconfig.json');
  const out = join(cache, 'app.cpio');
  const w = new CpioWriter(out + '.tmp');
  w.file('rz/package.json', Buffer.from(JSON.stringify({ name: 'ringzero', type: 'module' })));
  addTree(w, join(root, 'dist'), 'rz/dist', (n) => n.endsWith('.js'));
  w.file('rz/build/Release/ringzero.node', readFileSync(addon), 0o755);
  w.close();
  renameSync(out + '.tmp', out);
  return out;
}

/**
 * Builds (or reuses) the guest image of the package at `root`. Returns the
 * kernel and initrd paths; throws VmImageUnavailable when it cannot be had.
 */
export function buildVmImage({ root = process.cwd(), cacheDir = '.cache/vm' } = {}) {
  const cache = resolve(root, cacheDir);
  mkdirSync(cache, { recursive: true });
  for (const tool of ['dpkg-deb', 'ldd']) {
    try { run('sh', ['-c', `command -v ${tool}`]); } catch { throw new VmImageUnavailable(`${tool} is missing (the guest image is built from Debian packages on a Debian system)`); }
  }
  const vmlinuz = kernel(cache);
  const base = buildBase(root, cache, busybox(cache));
  const app = buildApp(root, cache);
  const initrd = join(cache, 'initrd.cpio');
  const fd = openSync(initrd + '.tmp', 'w', 0o644);
  for (const part of [base, app]) writeSync(fd, readFileSync(part));
  closeSync(fd);
  renameSync(initrd + '.tmp', initrd);
  return { kernel: vmlinuz, initrd };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(JSON.stringify(buildVmImage({ root: resolve(dirname(fileURLToPath(import.meta.url)), '..') })));
  } catch (e) {
    console.error(`vm-image: ${e.message}`);
    process.exit(e instanceof VmImageUnavailable ? 2 : 1);
  }
}
