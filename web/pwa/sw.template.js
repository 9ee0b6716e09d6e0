// The service worker that lets the site open and run offline after one visit (issue #15). Made by
// web/pwa/build_sw.mjs at build time from web/pwa/sw.template.js: VERSION is a hash of every file
// of the build, FILES the build's files (the app shell, the embedded demo model, the examples),
// relative to this file, so the site works from any sub-path. Model weight shards are not among
// them: the worker keeps those in OPFS (the embedded demo model's too), and offline it loads them
// from there.
//
// Network first, this build's cache as the fallback: online, every request reaches the server as
// before (fresh files, tests that watch requests see them); offline, or with the server gone,
// the cached copy answers. Only this build's own files are touched: models from other hosts go
// to the network and into OPFS as before (never duplicated here), and Range requests (resumed
// downloads) are never answered from the cache. A new build is a new VERSION: it installs beside
// the running one and waits; the page offers to reload, and on "Reload" it takes over and the old
// cache is deleted.
const VERSION = '__VERSION__';
const FILES = __FILES__;
const CACHE = `visionllm-${VERSION}`;
const SCOPE = new URL('./', self.location).href;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES.map((f) => new Request(f, { cache: 'reload' })))));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('visionllm-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
  if (event.data === 'version') event.source?.postMessage({ version: VERSION });
});

/** The cached file a request stands for, or null: navigations inside the scope are the page. */
function cachedName(request) {
  if (request.method !== 'GET' || request.headers.has('range') || !request.url.startsWith(SCOPE)) return null;
  if (request.mode === 'navigate') return 'index.html';
  const name = decodeURIComponent(new URL(request.url).pathname.slice(new URL(SCOPE).pathname.length));
  return FILES.includes(name) ? name : null;
}

self.addEventListener('fetch', (event) => {
  const name = cachedName(event.request);
  if (name === null) return;
  event.respondWith((async () => {
    try {
      return await fetch(event.request);
    } catch (offline) {
      const hit = await (await caches.open(CACHE)).match(name);
      if (hit) return hit;
      throw offline;
    }
  })());
});
