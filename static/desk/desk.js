/*
 * The desk's behaviour beyond htmx: the queue's order, live wait times, the keyboard in the
 * reply box (Enter sends, Shift+Enter adds a line, "/" searches canned responses), and the
 * agent's typing indicator for the customer. Plain ES2018, no build step.
 */
(function () {
  'use strict';

  const TYPING_SEND_INTERVAL_MS = 2000;
  const TYPING_IDLE_MS = 4000;
  const TYPING_SHOWN_MS = 6000;
  const CANNED_DELAY_MS = 120;
  let socket = null;
  let socketWasLost = false;

  // The live region says whether the desk is live; "Reconnecting…" shows while it is not.
  document.addEventListener('htmx:wsOpen', (event) => {
    socket = event.detail.socketWrapper;
    event.target.closest('[ws-connect]').dataset.socket = 'open';
    // Events sent while the socket was down are lost: re-read the page's lists and transcript.
    if (socketWasLost) htmx.trigger(document.body, 'desk:resync');
    socketWasLost = false;
  });
  document.addEventListener('htmx:wsClose', (event) => {
    socket = null;
    socketWasLost = true;
    const live = event.target.closest('[ws-connect]');
    if (live) live.dataset.socket = 'closed';
  });

  // ---- Lists pushed over the socket ---------------------------------------------------------

  // A row pushed over the socket lands at the end of its list: put the queue back in the
  // desk's order, most urgent first, then longest waiting.
  function sortQueue() {
    const list = document.getElementById('queue-list');
    if (!list) return;
    const rows = Array.from(list.children);
    const sorted = rows.slice().sort((a, b) =>
      (Number(b.dataset.priority) - Number(a.dataset.priority)) || (Number(a.dataset.since) - Number(b.dataset.since)));
    if (sorted.some((row, index) => row !== rows[index])) sorted.forEach((row) => list.appendChild(row));
  }

  // A message can arrive twice, from the reply's own answer and from the socket: show it once.
  function alreadyShown(html) {
    const ids = (html || '').match(/id="message-\d+"/g) || [];
    return ids.length > 0 && ids.every((match) => document.getElementById(match.slice(4, -1)));
  }

  function messageNumber(element) {
    return Number(element.id.slice('message-'.length));
  }

  // Messages pushed, resynced or paged in are merged into the transcript by id: each shows once,
  // in the order it was written, whatever order the fragments arrive in.
  function mergeIntoTranscript(transcript, fragment) {
    Array.from(fragment.children).forEach((incoming) => {
      if (!/^message-\d+$/.test(incoming.id) || document.getElementById(incoming.id)) return;
      const later = Array.from(transcript.children).find((shown) =>
        /^message-\d+$/.test(shown.id) && messageNumber(shown) > messageNumber(incoming));
      transcript.insertBefore(incoming, later || null);
    });
    revealLatest();
  }

  document.addEventListener('htmx:oobBeforeSwap', (event) => {
    const target = event.detail.target;
    if (target && target.id === 'transcript' && event.detail.fragment) {
      event.detail.shouldSwap = false;
      mergeIntoTranscript(target, event.detail.fragment);
    }
  });

  // Resolving says which message the agent has seen last: the server refuses if the customer
  // wrote after it.
  document.addEventListener('htmx:configRequest', (event) => {
    if (!event.detail.elt.matches || !event.detail.elt.matches('form[data-seen-through]')) return;
    const shown = Array.from(document.querySelectorAll('#transcript > [id^="message-"]'));
    if (shown.length) event.detail.parameters.seen_through = String(Math.max(...shown.map(messageNumber)));
  });

  document.addEventListener('htmx:beforeSwap', (event) => {
    if (event.detail.target && event.detail.target.id === 'transcript' && alreadyShown(event.detail.serverResponse)) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener('htmx:oobAfterSwap', (event) => {
    sortQueue();
    refreshTimes();
    if (event.detail.target && event.detail.target.id === 'transcript') revealLatest();
    if (event.detail.target && event.detail.target.id === 'typing') hideTypingLater();
  });
  document.addEventListener('htmx:afterSwap', (event) => {
    if (event.detail.target && event.detail.target.id === 'transcript') revealLatest();
  });

  // ---- Wait times ---------------------------------------------------------------------------

  function duration(seconds) {
    if (seconds < 60) return 'under a minute';
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + ' min';
    return Math.floor(minutes / 60) + ' h ' + (minutes % 60) + ' min';
  }

  function refreshTimes() {
    const now = Date.now() / 1000;
    document.querySelectorAll('time[data-since]').forEach((time) => {
      const since = Number(time.dataset.since);
      if (since) time.textContent = duration(Math.max(0, now - since));
    });
  }

  setInterval(refreshTimes, 15000);

  // ---- Transcript and typing ----------------------------------------------------------------

  function revealLatest() {
    const transcript = document.getElementById('transcript');
    if (transcript) transcript.lastElementChild && transcript.lastElementChild.scrollIntoView({ block: 'nearest' });
  }

  let typingHideTimer = null;
  function hideTypingLater() {
    clearTimeout(typingHideTimer);
    typingHideTimer = setTimeout(() => {
      const typing = document.getElementById('typing');
      if (typing) typing.hidden = true;
    }, TYPING_SHOWN_MS);
  }

  let lastTypingSentAt = 0;
  let typingIdleTimer = null;
  function sendTyping(active) {
    if (!socket) return;
    socket.send(JSON.stringify({ type: 'typing', active }));
    lastTypingSentAt = active ? Date.now() : 0;
  }

  function reportTyping(composer) {
    if (composer.elements.internal && composer.elements.internal.checked) return; // notes are not for the customer
    if (Date.now() - lastTypingSentAt > TYPING_SEND_INTERVAL_MS) sendTyping(true);
    clearTimeout(typingIdleTimer);
    typingIdleTimer = setTimeout(() => sendTyping(false), TYPING_IDLE_MS);
  }

  // ---- Composer: Enter sends, "/" finds canned responses --------------------------------------

  function replyBox() {
    return document.getElementById('reply-content');
  }

  function cannedOptions() {
    return Array.from(document.querySelectorAll('#canned-list [role="option"]'));
  }

  function cannedOpen() {
    const list = document.getElementById('canned-list');
    return list && !list.hidden;
  }

  function closeCanned() {
    const list = document.getElementById('canned-list');
    if (list) { list.hidden = true; list.innerHTML = ''; }
  }

  let cannedTimer = null;
  function searchCanned(composer, query) {
    clearTimeout(cannedTimer);
    cannedTimer = setTimeout(() => {
      const url = composer.dataset.cannedUrl + '?q=' + encodeURIComponent(query);
      htmx.ajax('GET', url, { target: '#canned-list', swap: 'innerHTML' }).then(() => {
        document.getElementById('canned-list').hidden = false;
      });
    }, CANNED_DELAY_MS);
  }

  function moveCannedSelection(step) {
    const options = cannedOptions();
    if (!options.length) return;
    const current = options.findIndex((option) => option.getAttribute('aria-selected') === 'true');
    const next = (current + step + options.length) % options.length;
    options.forEach((option, index) => option.setAttribute('aria-selected', String(index === next)));
    options[next].scrollIntoView({ block: 'nearest' });
  }

  function pickCanned(option) {
    const box = replyBox();
    box.value = option.dataset.text;
    closeCanned();
    box.focus();
  }

  function onComposerKey(event, composer) {
    if (event.target.id !== 'reply-content') return;
    if (cannedOpen()) {
      const selected = cannedOptions().find((option) => option.getAttribute('aria-selected') === 'true');
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        moveCannedSelection(event.key === 'ArrowDown' ? 1 : -1);
        return;
      }
      if ((event.key === 'Enter' || event.key === 'Tab') && selected) {
        event.preventDefault();
        pickCanned(selected);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        closeCanned();
        return;
      }
    }
    // isComposing: Enter that confirms an IME candidate must not send half a word.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      if (event.target.value.trim()) {
        sendTyping(false);
        composer.requestSubmit();
      }
    }
  }

  function onComposerInput(event, composer) {
    if (event.target.id !== 'reply-content') return;
    const text = event.target.value;
    if (/^\/\S*$/.test(text)) searchCanned(composer, text.slice(1));
    else if (cannedOpen()) closeCanned();
    if (text && text[0] !== '/') reportTyping(composer);
  }

  function setUpComposer() {
    const composer = document.getElementById('composer');
    if (!composer) return;
    composer.addEventListener('keydown', (event) => onComposerKey(event, composer));
    composer.addEventListener('input', (event) => onComposerInput(event, composer));
    composer.addEventListener('click', (event) => {
      const option = event.target.closest('#canned-list [role="option"]');
      if (option) pickCanned(option);
    });
  }

  // "/" anywhere outside a field starts a canned-response search in the reply box.
  document.addEventListener('keydown', (event) => {
    if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest('input, textarea, select, [contenteditable]')) return;
    const box = replyBox();
    if (!box) return;
    event.preventDefault();
    box.focus();
    if (!box.value) {
      box.value = '/';
      box.dispatchEvent(new Event('input', { bubbles: true }));
    }
  });

  document.addEventListener('DOMContentLoaded', () => {
    sortQueue();
    refreshTimes();
    setUpComposer();
    revealLatest();
  });
})();
