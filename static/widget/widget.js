/*
 * HIL Console customer chat widget.
 *
 * Embed on any page of an allowed origin:
 *   <script src="https://HOST/static/widget/widget.js" data-inbox-token="TOKEN" async></script>
 *
 * Talks to the console's widget API (/api/widget/v1/) and live channel (/ws/widget/{id}/).
 * Plain ES2018 with no build step, so the file served is the file you read here.
 * Kept pure ASCII (non-ASCII text as \u escapes): host pages in any encoding load it intact.
 */
(function () {
  'use strict';

  // Loaded twice (e.g. a tag in the layout and one in a page): the first copy owns the page.
  if (window.hilWidget && typeof window.hilWidget.open === 'function') return;

  // `async` tags leave document.currentScript unreliable, so fall back to a selector.
  const script = (document.currentScript && document.currentScript.dataset.inboxToken
    ? document.currentScript
    : document.querySelector('script[data-inbox-token][src*="widget/widget.js"]'));
  if (!script) {
    console.warn('HIL widget: no <script data-inbox-token> tag found; the chat is not shown.');
    return;
  }

  const inboxToken = script.dataset.inboxToken;
  const baseUrl = new URL(script.src, window.location.href).origin;
  const settings = window.hilSettings || {};

  const API_ROOT = '/api/widget/v1/conversations';
  const POLL_INTERVAL_MS = 3000;
  const SOCKET_RETRY_FIRST_MS = 1000;
  const SOCKET_RETRY_MAX_MS = 30000;
  const TYPING_VISIBLE_MS = 6000;
  const TYPING_SEND_INTERVAL_MS = 2000;
  // The server closes with these when retrying cannot help (bad token, origin, conversation).
  const FINAL_CLOSE_CODES = [4401, 4403, 4404];
  // A GET answered with these means the stored conversation is no longer ours to resume.
  const REJECTED_STATUSES = [401, 403, 404];
  const CONNECTING_STATUSES = ['handover', 'pending_human'];
  const AI_WORKING_STATUSES = ['ai_processing', 'back_to_ai'];
  const KNOWN_SENDERS = ['customer', 'ai', 'human', 'system'];

  const STRINGS = {
    en: {
      title: 'Chat with us', openChat: 'Open chat', closeChat: 'Close chat',
      inputLabel: 'Your message', placeholder: 'Write a message\u2026', send: 'Send',
      connecting: 'Connecting you to a person\u2026', answering: '{name} is answering',
      personAnswering: 'A person is answering', typing: '{name} is typing\u2026',
      aiName: 'AI assistant', sources: 'Sources', you: 'You', support: 'Support', notSent: 'Not sent', retry: 'Retry',
      csatPrompt: 'How did we do?', csatRating: '{rating} out of 5',
      csatComment: 'Anything else you want to tell us? (optional)', csatSubmit: 'Send rating',
      csatThanks: 'Thank you for your feedback!',
      offline: 'We could not reach the chat. Please check your connection and try again.',
      error: 'Something went wrong. Please try again.',
    },
    de: {
      title: 'Chatten Sie mit uns', openChat: 'Chat \u00f6ffnen', closeChat: 'Chat schlie\u00dfen',
      inputLabel: 'Ihre Nachricht', placeholder: 'Nachricht schreiben\u2026', send: 'Senden',
      connecting: 'Sie werden mit einer Person verbunden\u2026', answering: '{name} antwortet',
      personAnswering: 'Eine Person antwortet', typing: '{name} schreibt\u2026',
      aiName: 'KI-Assistent', sources: 'Quellen', you: 'Sie', support: 'Support', notSent: 'Nicht gesendet', retry: 'Erneut senden',
      csatPrompt: 'Wie zufrieden waren Sie?', csatRating: '{rating} von 5',
      csatComment: 'M\u00f6chten Sie uns noch etwas sagen? (optional)', csatSubmit: 'Bewertung senden',
      csatThanks: 'Vielen Dank f\u00fcr Ihr Feedback!',
      offline: 'Der Chat ist gerade nicht erreichbar. Bitte pr\u00fcfen Sie Ihre Verbindung und versuchen Sie es erneut.',
      error: 'Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.',
    },
    fr: {
      title: 'Discutez avec nous', openChat: 'Ouvrir le chat', closeChat: 'Fermer le chat',
      inputLabel: 'Votre message', placeholder: '\u00c9crivez un message\u2026', send: 'Envoyer',
      connecting: 'Nous vous mettons en relation avec une personne\u2026', answering: '{name} vous r\u00e9pond',
      personAnswering: 'Une personne vous r\u00e9pond', typing: '{name} \u00e9crit\u2026',
      aiName: 'Assistant IA', sources: 'Sources', you: 'Vous', support: 'Support', notSent: 'Non envoy\u00e9', retry: 'R\u00e9essayer',
      csatPrompt: 'Comment nous sommes-nous d\u00e9brouill\u00e9s\u00a0?', csatRating: '{rating} sur 5',
      csatComment: 'Autre chose \u00e0 nous dire\u00a0? (facultatif)', csatSubmit: 'Envoyer la note',
      csatThanks: 'Merci pour votre avis\u00a0!',
      offline: 'Impossible de joindre le chat. V\u00e9rifiez votre connexion et r\u00e9essayez.',
      error: 'Une erreur est survenue. Veuillez r\u00e9essayer.',
    },
    es: {
      title: 'Chatea con nosotros', openChat: 'Abrir chat', closeChat: 'Cerrar chat',
      inputLabel: 'Tu mensaje', placeholder: 'Escribe un mensaje\u2026', send: 'Enviar',
      connecting: 'Te estamos conectando con una persona\u2026', answering: '{name} est\u00e1 respondiendo',
      personAnswering: 'Una persona est\u00e1 respondiendo', typing: '{name} est\u00e1 escribiendo\u2026',
      aiName: 'Asistente de IA', sources: 'Fuentes', you: 'T\u00fa', support: 'Soporte', notSent: 'No enviado', retry: 'Reintentar',
      csatPrompt: '\u00bfQu\u00e9 tal te hemos atendido?', csatRating: '{rating} de 5',
      csatComment: '\u00bfAlgo m\u00e1s que quieras contarnos? (opcional)', csatSubmit: 'Enviar valoraci\u00f3n',
      csatThanks: '\u00a1Gracias por tu opini\u00f3n!',
      offline: 'No pudimos conectar con el chat. Comprueba tu conexi\u00f3n e int\u00e9ntalo de nuevo.',
      error: 'Algo sali\u00f3 mal. Int\u00e9ntalo de nuevo.',
    },
  };

  // The host's explicit choice wins; otherwise follow the page's own language when we speak it.
  const pageLanguage = (document.documentElement.lang || '').slice(0, 2).toLowerCase();
  const locale = STRINGS[settings.locale] ? settings.locale : (STRINGS[pageLanguage] ? pageLanguage : 'en');

  function t(key, vars) {
    const template = STRINGS[locale][key] || STRINGS.en[key];
    return template.replace(/\{(\w+)\}/g, (match, name) => String(vars[name]));
  }

  const STYLES = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    .widget { --hil-accent: #2457d6; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2433; }
    button, textarea { font: inherit; color: inherit; }
    button { cursor: pointer; }
    button:focus-visible, textarea:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
    .launcher { position: fixed; bottom: 20px; right: 20px; z-index: 2147483000; width: 56px; height: 56px;
      border: 0; border-radius: 50%; background: var(--hil-accent); color: #fff;
      display: flex; align-items: center; justify-content: center; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
    .launcher svg { width: 26px; height: 26px; fill: currentColor; }
    .unread { position: absolute; top: 3px; right: 3px; width: 13px; height: 13px; border-radius: 50%;
      background: #e0245e; border: 2px solid #fff; }
    .panel { position: fixed; bottom: 88px; right: 20px; z-index: 2147483000; width: 370px;
      max-width: calc(100vw - 40px); height: 560px; max-height: calc(100vh - 110px);
      display: flex; flex-direction: column; overflow: hidden; background: #fff;
      border-radius: 12px; box-shadow: 0 12px 40px rgba(0,0,0,.25); }
    .left .launcher, .left .panel { right: auto; left: 20px; }
    .header { display: flex; align-items: flex-start; gap: 8px; padding: 12px 14px; background: var(--hil-accent); color: #fff; }
    .header-text { flex: 1; min-width: 0; }
    .title { margin: 0; font-size: 16px; font-weight: 600; }
    .status { margin: 2px 0 0; font-size: 13px; opacity: .9; min-height: 1em; }
    .close { border: 0; border-radius: 6px; padding: 0 6px; background: transparent; color: #fff; font-size: 22px; line-height: 1.2; }
    .body { flex: 1; overflow-y: auto; padding: 14px; background: #f5f7fb; }
    .greeting { margin: 0 0 12px; padding: 10px 12px; border-radius: 10px; background: #fff; color: #3a4356; white-space: pre-wrap; }
    .messages { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 10px; }
    .message { max-width: 85%; align-self: flex-start; }
    .message-customer { align-self: flex-end; text-align: right; }
    .message-system { align-self: center; max-width: 100%; text-align: center; }
    .author { display: block; margin: 0 4px 2px; font-size: 12px; color: #5b6478; }
    .content { margin: 0; padding: 8px 12px; border: 1px solid #e3e7ef; border-radius: 12px; background: #fff;
      text-align: left; white-space: pre-wrap; overflow-wrap: anywhere; }
    .message-customer .content { background: var(--hil-accent); border-color: transparent; color: #fff; }
    .message-system .content { border: 0; background: transparent; color: #5b6478; font-size: 13px; text-align: center; }
    .message[data-state] .content { opacity: .6; }
    .sources { margin: 3px 4px 0; font-size: 12px; color: #5b6478; }
    .failure { display: block; margin-top: 3px; font-size: 12px; color: #b3261e; }
    .failure button { border: 0; padding: 0; background: none; color: inherit; text-decoration: underline; }
    .typing { margin: 10px 0 0; font-size: 13px; font-style: italic; color: #5b6478; }
    .csat { margin-top: 14px; padding: 12px; border: 1px solid #e3e7ef; border-radius: 10px; background: #fff; }
    .csat-prompt { margin: 0 0 8px; font-weight: 600; }
    .ratings { display: flex; gap: 6px; margin-bottom: 8px; }
    .ratings button { flex: 1; padding: 6px 0; border: 1px solid #c9d0dd; border-radius: 8px; background: #fff; }
    .ratings button[aria-pressed="true"] { background: var(--hil-accent); border-color: transparent; color: #fff; }
    .csat textarea { display: block; width: 100%; margin-bottom: 8px; padding: 6px 8px; resize: vertical;
      border: 1px solid #c9d0dd; border-radius: 8px; }
    .primary { border: 0; border-radius: 8px; padding: 8px 14px; background: var(--hil-accent); color: #fff; font-weight: 600; }
    .primary:disabled { opacity: .5; cursor: default; }
    .thanks { margin: 14px 0 0; text-align: center; color: #3a4356; }
    .error { margin: 0; padding: 8px 14px; background: #fdecea; color: #b3261e; font-size: 13px; }
    .composer { display: flex; align-items: flex-end; gap: 8px; padding: 10px; border-top: 1px solid #e3e7ef; background: #fff; }
    .composer textarea { flex: 1; max-height: 120px; padding: 8px 10px; resize: none; border: 1px solid #c9d0dd; border-radius: 8px; }
    @media (max-width: 480px) {
      .panel, .left .panel { top: 0; right: 0; bottom: 0; left: 0; width: 100%; max-width: none;
        height: 100%; max-height: none; border-radius: 0; }
    }
  `;

  const state = {
    conversation: null, // {conversation_id, customer_token, identifier, csat_enabled, inbox_name, greeting}
    creating: null, // in-flight create, so a double click still makes one conversation
    fetching: null, // in-flight history request, so polls never overlap
    user: null,
    isOpen: false,
    status: null,
    assigneeName: null,
    lastMessageId: 0,
    renderedIds: new Set(),
    pending: new Map(), // client_message_id -> {clientMessageId, content, element}
    aiWorking: false,
    typingName: null,
    typingTimer: null,
    lastTypingSentAt: 0,
    statusFramesSeen: 0,
    socket: null,
    socketReady: false,
    socketRetryMs: SOCKET_RETRY_FIRST_MS,
    socketRetryTimer: null,
    socketGaveUp: false,
    pollTimer: null,
    csatGiven: false,
    csatClosed: false,
    csatThanked: false,
    csatSending: false,
    csatRating: 0,
  };
  const ui = {};

  // ---- DOM ---------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((name) => {
      if (name === 'text') node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach((child) => node.appendChild(child));
    return node;
  }

  function chatIcon() {
    const svgNs = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(svgNs, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS(svgNs, 'path');
    path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z');
    svg.appendChild(path);
    return svg;
  }

  function buildLauncher() {
    ui.unread = el('span', { class: 'unread', hidden: '' });
    ui.launcher = el('button', {
      type: 'button', class: 'launcher', 'data-hil': 'launcher', 'aria-label': t('openChat'),
      'aria-expanded': 'false', 'aria-controls': 'hil-panel',
    }, [chatIcon(), ui.unread]);
    ui.launcher.addEventListener('click', () => (state.isOpen ? closePanel() : openPanel()));
    return ui.launcher;
  }

  function buildHeader(title) {
    ui.status = el('p', { class: 'status', 'data-hil': 'status', role: 'status' });
    ui.close = el('button', { type: 'button', class: 'close', 'data-hil': 'close', 'aria-label': t('closeChat'), text: '\u00d7' });
    ui.close.addEventListener('click', closePanel);
    return el('div', { class: 'header' }, [
      el('div', { class: 'header-text' }, [el('h2', { class: 'title', text: title }), ui.status]),
      ui.close,
    ]);
  }

  function buildCsat() {
    ui.csatRatings = [1, 2, 3, 4, 5].map((rating) => {
      const button = el('button', {
        type: 'button', 'data-hil': 'csat-rating', 'data-rating': String(rating),
        'aria-pressed': 'false', 'aria-label': t('csatRating', { rating }), text: String(rating),
      });
      button.addEventListener('click', () => chooseCsatRating(rating));
      return button;
    });
    ui.csatComment = el('textarea', { 'data-hil': 'csat-comment', rows: '2', 'aria-label': t('csatComment'), placeholder: t('csatComment') });
    ui.csatSubmit = el('button', { type: 'button', class: 'primary', 'data-hil': 'csat-submit', text: t('csatSubmit'), disabled: '' });
    ui.csatSubmit.addEventListener('click', submitCsat);
    ui.csat = el('section', { class: 'csat', 'data-hil': 'csat', 'aria-label': t('csatPrompt'), hidden: '' }, [
      el('p', { class: 'csat-prompt', text: t('csatPrompt') }),
      el('div', { class: 'ratings', role: 'group', 'aria-label': t('csatPrompt') }, ui.csatRatings),
      ui.csatComment,
      ui.csatSubmit,
    ]);
    ui.csatThanks = el('p', { class: 'thanks', 'data-hil': 'csat-thanks', role: 'status', text: t('csatThanks'), hidden: '' });
    return [ui.csat, ui.csatThanks];
  }

  function buildBody() {
    ui.greeting = el('p', { class: 'greeting', 'data-hil': 'greeting', hidden: '' });
    ui.messages = el('ol', { class: 'messages', 'data-hil': 'messages', 'aria-live': 'polite' });
    ui.typing = el('p', { class: 'typing', 'data-hil': 'typing', hidden: '' });
    ui.body = el('div', { class: 'body' }, [ui.greeting, ui.messages, ui.typing].concat(buildCsat()));
    return ui.body;
  }

  function buildComposer() {
    ui.input = el('textarea', { 'data-hil': 'input', rows: '1', 'aria-label': t('inputLabel'), placeholder: t('placeholder') });
    ui.send = el('button', { type: 'button', class: 'primary', 'data-hil': 'send', text: t('send') });
    ui.input.addEventListener('keydown', (event) => {
      // isComposing: Enter that confirms an IME candidate must not send half a word.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        sendDraft();
      }
    });
    ui.input.addEventListener('input', () => {
      fitInputToText();
      reportCustomerTyping();
    });
    ui.send.addEventListener('click', sendDraft);
    return el('div', { class: 'composer' }, [ui.input, ui.send]);
  }

  function buildPanel() {
    const title = settings.title || t('title');
    ui.error = el('p', { class: 'error', 'data-hil': 'error', role: 'alert', hidden: '' });
    ui.panel = el('div', { id: 'hil-panel', class: 'panel', 'data-hil': 'panel', role: 'dialog', 'aria-label': title, hidden: '' },
      [buildHeader(title), buildBody(), ui.error, buildComposer()]);
    ui.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') closePanel();
    });
    return ui.panel;
  }

  function buildWidget() {
    ui.host = el('div', { id: 'hil-widget-host' });
    ui.root = ui.host.attachShadow({ mode: 'open' }); // open: the host page's tests may look inside
    const wrapper = el('div', { class: settings.position === 'left' ? 'widget left' : 'widget' }, [buildLauncher(), buildPanel()]);
    // setProperty ignores invalid values, so a bad setting cannot inject CSS.
    if (settings.color) wrapper.style.setProperty('--hil-accent', String(settings.color));
    ui.root.appendChild(el('style', { text: STYLES }));
    ui.root.appendChild(wrapper);
    document.body.appendChild(ui.host);
  }

  function fitInputToText() {
    ui.input.style.height = 'auto';
    ui.input.style.height = ui.input.scrollHeight + 'px';
  }

  // Keep the reader at the newest message, unless they scrolled up to read older ones.
  function revealLatest(force) {
    const distanceFromBottom = ui.body.scrollHeight - ui.body.scrollTop - ui.body.clientHeight;
    if (force || distanceFromBottom < 120) ui.body.scrollTop = ui.body.scrollHeight;
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
  }

  function clearError() {
    ui.error.hidden = true;
    ui.error.textContent = '';
  }

  // ---- Panel -------------------------------------------------------------------------------

  function openPanel() {
    if (!state.isOpen) {
      state.isOpen = true;
      ui.panel.hidden = false;
      ui.unread.hidden = true;
      ui.launcher.setAttribute('aria-expanded', 'true');
      ui.launcher.setAttribute('aria-label', t('closeChat'));
      revealLatest(true);
    }
    ui.input.focus();
    ensureConversation().catch((failure) => showError(failureMessage(asResult(failure))));
  }

  function closePanel() {
    if (!state.isOpen) return;
    const focusWasInside = ui.panel.contains(ui.root.activeElement);
    state.isOpen = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute('aria-expanded', 'false');
    ui.launcher.setAttribute('aria-label', t('openChat'));
    if (focusWasInside) ui.launcher.focus();
  }

  // ---- HTTP --------------------------------------------------------------------------------

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch (error) {
      return null;
    }
  }

  /** Always resolves: {ok, status, body}; status 0 means the network failed. */
  function api(method, path, body, customerToken) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (customerToken) headers.Authorization = 'Bearer ' + customerToken;
    else headers['X-Inbox-Token'] = inboxToken;
    const request = { method, headers, credentials: 'omit', body: body === undefined ? undefined : JSON.stringify(body) };
    return fetch(baseUrl + path, request)
      .then((response) => response.text().then((text) => ({ ok: response.ok, status: response.status, body: parseJson(text) })))
      .catch(() => ({ ok: false, status: 0, body: null }));
  }

  function asResult(failure) {
    return failure && typeof failure.status === 'number' ? failure : { ok: false, status: 0, body: null };
  }

  function failureMessage(result) {
    if (result.status === 0) return t('offline');
    const error = result.body && result.body.error;
    return (error && error.message) || t('error');
  }

  // Worth retrying with the same client_message_id: the server may simply not have seen it.
  function isRetryable(status) {
    return status === 0 || status === 429 || status >= 500;
  }

  function conversationPath(conversation) {
    return API_ROOT + '/' + encodeURIComponent(conversation.conversation_id);
  }

  // ---- Stored conversation -----------------------------------------------------------------

  const storageKey = 'hil-widget:' + inboxToken;

  function loadStoredConversation() {
    try {
      const stored = JSON.parse(window.localStorage.getItem(storageKey));
      return stored && stored.conversation_id && stored.customer_token ? stored : null;
    } catch (error) {
      return null;
    }
  }

  function storeConversation(conversation) {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify(conversation));
    } catch (error) {
      // Storage blocked (private mode, policy): the conversation lasts for this page only.
    }
  }

  function forgetStoredConversation() {
    try {
      window.localStorage.removeItem(storageKey);
    } catch (error) {
      // Nothing stored that we could reach, so nothing to forget.
    }
  }

  function identifierOf(user) {
    const identifier = user && user.identifier;
    return identifier === undefined || identifier === null || identifier === '' ? null : String(identifier);
  }

  function customerPayload(user) {
    const customer = {};
    ['identifier', 'name', 'email', 'identifier_hash'].forEach((field) => {
      if (user && user[field] !== undefined && user[field] !== null && user[field] !== '') customer[field] = user[field];
    });
    return customer;
  }

  // ---- Conversation lifecycle --------------------------------------------------------------

  function ensureConversation() {
    if (state.conversation) return Promise.resolve(state.conversation);
    if (!state.creating) {
      state.creating = createConversation().finally(() => {
        state.creating = null;
      });
    }
    return state.creating;
  }

  /** Rejects with the API result when the console refuses, so callers can show its message. */
  function createConversation() {
    const user = state.user;
    return api('POST', API_ROOT, { customer: customerPayload(user) }).then((result) => {
      if (!result.ok || !result.body || !result.body.conversation_id) throw Object.assign({}, result, { ok: false });
      const inbox = result.body.inbox || {};
      const conversation = {
        conversation_id: result.body.conversation_id,
        customer_token: result.body.customer_token,
        identifier: identifierOf(user),
        // GET never repeats the inbox settings, so keep them for reloads.
        csat_enabled: Boolean(inbox.csat_enabled),
        inbox_name: inbox.name || '',
        greeting: inbox.greeting || '',
      };
      storeConversation(conversation);
      startConversation(conversation, result.body.status);
      return conversation;
    });
  }

  function startConversation(conversation, initialStatus) {
    state.conversation = conversation;
    ui.greeting.textContent = conversation.greeting || '';
    ui.greeting.hidden = !conversation.greeting;
    renderStatusLine();
    applyStatus(initialStatus, null);
    // A resumed conversation (200 on create, or a reload) may already have history.
    refreshMessages(false).then(() => {
      if (state.conversation === conversation) connectSocket();
    });
  }

  function forgetConversation() {
    stopLive();
    state.conversation = null;
    forgetStoredConversation();
    resetConversationView();
  }

  function resetConversationView() {
    ui.messages.textContent = '';
    ui.greeting.hidden = true;
    clearTimeout(state.typingTimer);
    Object.assign(state, {
      fetching: null, status: null, assigneeName: null, lastMessageId: 0, aiWorking: false, typingName: null,
      csatGiven: false, csatClosed: false, csatThanked: false, csatRating: 0,
    });
    state.renderedIds.clear();
    state.pending.clear();
    renderStatusLine();
    renderTyping();
    renderCsat();
  }

  function handleRejectedConversation() {
    forgetConversation();
    // Someone is looking at the chat: give them a working conversation right away.
    if (state.isOpen) ensureConversation().catch((failure) => showError(failureMessage(asResult(failure))));
  }

  function setUser(user) {
    state.user = user || null;
    const conversation = state.conversation;
    // A different person on the same browser must not see the previous person's chat.
    if (conversation && (conversation.identifier || null) !== identifierOf(state.user)) forgetConversation();
  }

  // ---- History and polling -----------------------------------------------------------------

  function refreshMessages(announce) {
    if (!state.conversation) return Promise.resolve();
    if (!state.fetching) {
      const request = fetchMessagesAfterLast(state.conversation, announce).finally(() => {
        if (state.fetching === request) state.fetching = null;
      });
      state.fetching = request;
    }
    return state.fetching;
  }

  function fetchMessagesAfterLast(conversation, announce) {
    const path = conversationPath(conversation) + '/messages?after=' + state.lastMessageId;
    const statusFramesBefore = state.statusFramesSeen;
    return api('GET', path, undefined, conversation.customer_token).then((result) => {
      if (state.conversation !== conversation) return undefined; // forgotten while we waited
      if (REJECTED_STATUSES.indexOf(result.status) !== -1) return handleRejectedConversation();
      if (!result.ok || !result.body) return undefined; // a hiccup; the next poll asks again
      const page = result.body;
      const messages = Array.isArray(page.messages) ? page.messages : [];
      messages.forEach((message) => receiveMessage(message, announce));
      state.csatGiven = state.csatGiven || Boolean(page.csat_given);
      // A status frame that arrived while we waited is newer than this page's status.
      if (state.statusFramesSeen === statusFramesBefore) applyStatus(page.status, page.assignee_name);
      // An empty page with has_more would loop forever; stop and let the next poll continue.
      return page.has_more && messages.length ? fetchMessagesAfterLast(conversation, announce) : undefined;
    });
  }

  function startPolling() {
    if (!state.pollTimer) state.pollTimer = setInterval(() => refreshMessages(true), POLL_INTERVAL_MS);
  }

  function stopPolling() {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  // ---- WebSocket ---------------------------------------------------------------------------

  function socketUrl(conversation) {
    // http -> ws, https -> wss. No token here: URLs end up in server and proxy logs.
    return baseUrl.replace(/^http/, 'ws') + '/ws/widget/' + encodeURIComponent(conversation.conversation_id) + '/';
  }

  function connectSocket() {
    const conversation = state.conversation;
    if (!conversation || state.socket) return;
    if (state.socketGaveUp || typeof WebSocket !== 'function') {
      startPolling();
      return;
    }
    let socket;
    try {
      socket = new WebSocket(socketUrl(conversation));
    } catch (error) {
      handleSocketLost(null);
      return;
    }
    state.socket = socket;
    state.socketReady = false;
    // The token travels in the first frame; the console answers "ready" once it listens.
    socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', token: conversation.customer_token }));
    socket.onmessage = (event) => handleFrame(parseJson(event.data));
    socket.onclose = (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      handleSocketLost(event.code);
    };
  }

  function handleSocketLost(closeCode) {
    startPolling();
    if (FINAL_CLOSE_CODES.indexOf(closeCode) !== -1) {
      state.socketGaveUp = true;
      return;
    }
    clearTimeout(state.socketRetryTimer);
    state.socketRetryTimer = setTimeout(connectSocket, state.socketRetryMs);
    state.socketRetryMs = Math.min(state.socketRetryMs * 2, SOCKET_RETRY_MAX_MS);
  }

  function stopLive() {
    const socket = state.socket;
    state.socket = null;
    if (socket) {
      socket.onclose = null; // a deliberate close is not a lost connection
      socket.close();
    }
    clearTimeout(state.socketRetryTimer);
    stopPolling();
    state.socketRetryMs = SOCKET_RETRY_FIRST_MS;
    state.socketGaveUp = false;
  }

  function socketReady() {
    state.socketReady = true;
    state.socketRetryMs = SOCKET_RETRY_FIRST_MS;
    stopPolling();
    refreshMessages(true); // catch up on anything sent while we were not listening
  }

  function handleFrame(frame) {
    if (!frame) return;
    if (frame.type === 'ready') socketReady();
    else if (frame.type === 'message') receiveMessage(frame.message, true);
    else if (frame.type === 'status') {
      state.statusFramesSeen += 1;
      applyStatus(frame.status, frame.assignee_name);
    }
    else if (frame.type === 'typing') showTypingFrame(frame);
  }

  function reportCustomerTyping() {
    const socket = state.socket;
    if (!socket || !state.socketReady || socket.readyState !== WebSocket.OPEN || !ui.input.value.trim()) return;
    const now = Date.now();
    if (now - state.lastTypingSentAt < TYPING_SEND_INTERVAL_MS) return;
    state.lastTypingSentAt = now;
    socket.send(JSON.stringify({ type: 'typing', active: true }));
  }

  // ---- Messages ----------------------------------------------------------------------------

  function authorLabel(message) {
    if (message.sender === 'customer') return t('you');
    if (message.sender === 'ai') return t('aiName');
    if (message.sender === 'human') return message.author_name || t('support');
    return message.author_name || '';
  }

  function renderMessage(message) {
    const sender = KNOWN_SENDERS.indexOf(message.sender) !== -1 ? message.sender : 'system';
    return el('li', {
      class: 'message message-' + sender, 'data-hil': 'message', 'data-sender': String(message.sender),
      'data-id': message.id === null ? '' : String(message.id),
    }, [
      el('span', { class: 'author', text: authorLabel(message) }),
      el('p', { class: 'content', text: String(message.content || '') }),
    ].concat(sourcesOf(message)));
  }

  function sourcesOf(message) {
    const titles = Array.isArray(message.sources) ? message.sources.filter(Boolean) : [];
    if (!titles.length) return [];
    return [el('p', { class: 'sources', 'data-hil': 'sources', text: t('sources') + ': ' + titles.join(', ') })];
  }

  // Keep server messages in id order; pending bubbles (no id yet) stay where they were typed.
  function insertInOrder(element, id) {
    const later = Array.prototype.find.call(ui.messages.children, (child) => child.dataset.id && Number(child.dataset.id) > id);
    ui.messages.insertBefore(element, later || null);
  }

  function receiveMessage(message, announce) {
    if (!message || message.id === undefined || message.id === null) return;
    const id = Number(message.id);
    if (state.renderedIds.has(id)) return;
    state.renderedIds.add(id);
    state.lastMessageId = Math.max(state.lastMessageId, id);
    const pending = message.client_message_id && state.pending.get(message.client_message_id);
    if (pending) {
      state.pending.delete(message.client_message_id);
      confirmBubble(pending.element, id);
    } else {
      insertInOrder(renderMessage(message), id);
    }
    if (message.sender === 'ai' || message.sender === 'human') noteReplyArrived(announce);
    revealLatest(false);
  }

  function noteReplyArrived(announce) {
    // The reply is here, so whoever was typing it has finished.
    state.aiWorking = false;
    state.typingName = null;
    clearTimeout(state.typingTimer);
    renderTyping();
    if (announce && !state.isOpen) ui.unread.hidden = false;
  }

  function newClientMessageId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    // randomUUID needs a secure context; build a version 4 UUID by hand elsewhere.
    const bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(bytes);
    else bytes.forEach((value, index) => { bytes[index] = Math.floor(Math.random() * 256); });
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.prototype.map.call(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
  }

  function sendDraft() {
    const content = ui.input.value.trim();
    if (!content) return;
    ui.input.value = '';
    fitInputToText();
    const pending = { clientMessageId: newClientMessageId(), content, element: null };
    pending.element = renderMessage({ id: null, sender: 'customer', content });
    pending.element.setAttribute('data-client-message-id', pending.clientMessageId);
    state.pending.set(pending.clientMessageId, pending);
    ui.messages.appendChild(pending.element);
    revealLatest(true);
    deliverMessage(pending);
  }

  /** Also used by Retry: the same client_message_id lets the server drop a duplicate. */
  function deliverMessage(pending) {
    showSending(pending);
    clearError();
    ensureConversation()
      .then((conversation) => api('POST', conversationPath(conversation) + '/messages',
        { content: pending.content, client_message_id: pending.clientMessageId }, conversation.customer_token))
      .catch(asResult) // creating the conversation failed: treat it like a failed send
      .then((result) => settleDelivery(pending, result));
  }

  function settleDelivery(pending, result) {
    // Gone from the map: the socket already confirmed it, or the conversation was forgotten.
    if (state.pending.get(pending.clientMessageId) !== pending) return;
    if (result.ok) {
      receiveMessage(result.body, false);
    } else if (isRetryable(result.status)) {
      showNotSent(pending);
    } else {
      // The console refused this text (e.g. too long): say why and give it back to edit.
      state.pending.delete(pending.clientMessageId);
      pending.element.remove();
      showError(failureMessage(result));
      if (!ui.input.value.trim()) ui.input.value = pending.content;
      fitInputToText();
      ui.input.focus();
    }
  }

  function showSending(pending) {
    pending.element.setAttribute('data-state', 'pending');
    const failure = pending.element.querySelector('.failure');
    if (failure) failure.remove();
  }

  function showNotSent(pending) {
    const retry = el('button', { type: 'button', 'data-hil': 'retry', text: t('retry') });
    retry.addEventListener('click', () => deliverMessage(pending));
    pending.element.setAttribute('data-state', 'failed');
    pending.element.appendChild(el('span', { class: 'failure' }, [document.createTextNode(t('notSent') + ' \u00b7 '), retry]));
  }

  function confirmBubble(element, id) {
    element.setAttribute('data-id', String(id));
    element.removeAttribute('data-state');
    const failure = element.querySelector('.failure');
    if (failure) failure.remove();
  }

  // ---- Status and typing -------------------------------------------------------------------

  function applyStatus(status, assigneeName) {
    if (!status) return;
    if (status !== state.status) {
      // Only a change of status raises the indicator; a poll repeating a stale status must not.
      state.aiWorking = AI_WORKING_STATUSES.indexOf(status) !== -1;
      state.csatClosed = false;
      state.csatThanked = false;
    }
    state.status = status;
    state.assigneeName = assigneeName || null;
    renderStatusLine();
    renderTyping();
    renderCsat();
  }

  function renderStatusLine() {
    let text = (state.conversation && state.conversation.inbox_name) || '';
    if (CONNECTING_STATUSES.indexOf(state.status) !== -1) text = t('connecting');
    else if (state.status === 'human_active') {
      text = state.assigneeName ? t('answering', { name: state.assigneeName }) : t('personAnswering');
    }
    ui.status.textContent = text;
  }

  function showTypingFrame(frame) {
    if (frame.sender === 'customer') return;
    clearTimeout(state.typingTimer);
    if (frame.active) {
      state.typingName = frame.sender === 'ai' ? t('aiName') : (frame.author_name || t('support'));
      // Frames can be lost; never leave "is typing..." up for a typist who went quiet.
      state.typingTimer = setTimeout(() => {
        state.typingName = null;
        renderTyping();
      }, TYPING_VISIBLE_MS);
    } else {
      state.typingName = null;
      if (frame.sender === 'ai') state.aiWorking = false;
    }
    renderTyping();
  }

  function renderTyping() {
    const name = state.typingName || (state.aiWorking ? t('aiName') : null);
    ui.typing.textContent = name ? t('typing', { name }) : '';
    ui.typing.hidden = !name;
  }

  // ---- Satisfaction rating -----------------------------------------------------------------

  function renderCsat() {
    const resolved = state.status === 'resolved';
    const enabled = Boolean(state.conversation && state.conversation.csat_enabled);
    const wasHidden = ui.csat.hidden;
    ui.csat.hidden = !(resolved && enabled && !state.csatGiven && !state.csatClosed);
    ui.csatThanks.hidden = !(resolved && state.csatThanked);
    if (wasHidden && !ui.csat.hidden) {
      chooseCsatRating(0);
      ui.csatComment.value = '';
      revealLatest(false);
    }
    ui.csatSubmit.disabled = !state.csatRating || state.csatSending;
  }

  function chooseCsatRating(rating) {
    state.csatRating = rating;
    ui.csatRatings.forEach((button, index) => button.setAttribute('aria-pressed', String(index + 1 === rating)));
    ui.csatSubmit.disabled = !rating || state.csatSending;
  }

  function submitCsat() {
    const conversation = state.conversation;
    if (!conversation || !state.csatRating || state.csatSending) return;
    const rating = { rating: state.csatRating };
    const comment = ui.csatComment.value.trim();
    if (comment) rating.comment = comment;
    state.csatSending = true;
    ui.csatSubmit.disabled = true;
    api('POST', conversationPath(conversation) + '/csat', rating, conversation.customer_token).then((result) => {
      state.csatSending = false;
      if (state.conversation !== conversation) return;
      if (result.ok) {
        state.csatGiven = true;
        state.csatThanked = true;
      } else if (result.status === 409) {
        state.csatClosed = true; // already rated, or reopened meanwhile: nothing left to ask
      } else {
        showError(failureMessage(result));
      }
      renderCsat();
    });
  }

  // ---- Start -------------------------------------------------------------------------------

  function start() {
    if (document.getElementById('hil-widget-host')) return;
    buildWidget();
    // Resume before replaying queued calls: a queued setUser for someone else then forgets it,
    // and a queued open() reuses it instead of creating a second conversation.
    const stored = loadStoredConversation();
    if (stored) startConversation(stored, null);
    const publicApi = { open: openPanel, close: closePanel, setUser };
    // Hosts may have queued calls as window.hilWidget = {q: [["setUser", {...}], ["open"]]}.
    const queued = window.hilWidget && Array.isArray(window.hilWidget.q) ? window.hilWidget.q : [];
    window.hilWidget = publicApi;
    queued.forEach((call) => {
      if (Array.isArray(call) && typeof publicApi[call[0]] === 'function') publicApi[call[0]].apply(null, call.slice(1));
    });
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
