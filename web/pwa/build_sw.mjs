// Trunk post_build hook (Trunk.toml): write sw.js into the build from sw.template.js, with the
// build's files and a version hashed from their names and contents (a new build, a new version).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const staging = process.env.TRUNK_STAGING_DIR;
if (!staging) throw new Error('build_sw.mjs runs as a Trunk hook (TRUNK_STAGING_DIR is not set)');

/** Model weight shards live in OPFS (the worker stores and verifies them there, the embedded
 *  demo model's too): the service worker never holds a second copy. */
const isShard = (rel) => rel.startsWith('models/') && rel.endsWith('.safetensors');

function walk(dir, prefix = '') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix + e.name;
    if (e.isDirectory()) return walk(path.join(dir, e.name), `${rel}/`);
    return e.isFile() && rel !== 'sw.js' && !isShard(rel) ? [rel] : [];
  });
}

const files = walk(staging).sort();
const hash = crypto.createHash('sha256');
for (const f of files) hash.update(f).update('\0').update(fs.readFileSync(path.join(staging, f)));
const version = hash.digest('hex').slice(0, 16);
const template = fs.readFileSync(path.join(here, 'sw.template.js'), 'utf8');
const sw = template.replace("'__VERSION__'", JSON.stringify(version)).replace('__FILES__', JSON.stringify(files));
fs.writeFileSync(path.join(staging, 'sw.js'), sw);
const bytes = files.reduce((n, f) => n + fs.statSync(path.join(staging, f)).size, 0);
console.log(`sw.js: version ${version}, ${files.length} files, ${(bytes / 1e6).toFixed(1)} MB precached`);
