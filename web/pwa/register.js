// Registers the service worker (sw.js, made at build time by web/pwa/build_sw.mjs) so the site
// opens and runs offline after one visit, and offers a reload when a new build has installed:
// the banner's button lets the new worker take over, and the page reloads under it.
(() => {
  if (!('serviceWorker' in navigator)) return;
  let accepted = false;
  const offer = (waiting) => {
    if (document.querySelector('[data-testid=update-banner]')) return;
    const banner = document.createElement('div');
    banner.className = 'update-banner';
    banner.dataset.testid = 'update-banner';
    banner.setAttribute('role', 'status');
    banner.textContent = 'A new version of VisionLLM Web is ready. ';
    const button = document.createElement('button');
    button.textContent = 'Reload';
    button.dataset.testid = 'update-reload';
    button.addEventListener('click', () => { accepted = true; waiting.postMessage('skip-waiting'); });
    const later = document.createElement('button');
    later.textContent = 'Later';
    later.addEventListener('click', () => banner.remove());
    banner.append(button, ' ', later);
    document.body.prepend(banner);
  };
  navigator.serviceWorker.addEventListener('controllerchange', () => { if (accepted) location.reload(); });
  navigator.serviceWorker.register('./sw.js').then((reg) => {
    // A build installed earlier and still waiting (this page opened under the old one).
    if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
    reg.addEventListener('updatefound', () => {
      const incoming = reg.installing;
      incoming?.addEventListener('statechange', () => {
        // With no controller this is the first install: nothing to replace, nothing to offer.
        if (incoming.state === 'installed' && navigator.serviceWorker.controller) offer(incoming);
      });
    });
  }, (e) => console.warn(`service worker: ${e}`));
})();
