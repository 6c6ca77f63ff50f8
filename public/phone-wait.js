// The computer's sign-in page while a phone confirms it (views/login.ejs): asks the provider
// how far the phone got, every 2 s, and goes on once the phone has answered. Our own file,
// so the page's Content-Security-Policy stays `script-src 'self'`; without it the page still
// offers a link to go on by hand.
(function () {
  const box = document.getElementById('phone-sign-in');
  if (!box) return;
  const text = box.querySelector('.phone-status');
  const say = (message) => {
    if (text) text.textContent = message;
  };
  const timer = setInterval(async function poll() {
    let status;
    try {
      const response = await fetch(box.dataset.statusHref, { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (response.status === 429 || response.status >= 500) return; // busy: ask again at the next tick
      status = response.ok ? (await response.json()).status : 'expired';
    } catch {
      return; // a network blip: ask again at the next tick
    }
    if (status === 'scanned') say(box.dataset.scannedText);
    if (status === 'done') {
      clearInterval(timer);
      window.location.assign(box.dataset.continueHref);
    }
    if (status === 'expired') {
      clearInterval(timer);
      box.classList.add('expired');
      say(box.dataset.expiredText);
    }
  }, 2000);
})();
