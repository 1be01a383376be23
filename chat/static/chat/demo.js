// The chat demo page (templates/chat/demo.html): pick a name, then chat live in the demo application's channels.
// Everything goes through the unmodified @chatkitty/core browser SDK (bundled into chatkitty-core.js at set-up),
// exactly as an app built on ChatKitty would use it with its host pointed at Parley.
import { getSdkClient } from "./chatkitty-core.js";

const $ = (selector) => document.querySelector(selector);
const root = $("#demo");
const kitty = getSdkClient(root.dataset.apiKey, {
  $environment: { host: window.location.host, secure: window.location.protocol === "https:" },
});

const state = { me: null, channel: null, chat: null, shown: new Set(), typing: new Map() };

function showError(where, error) {
  const element = $(where);
  element.textContent = error ? error.message || error.error || String(error) : "";
  element.hidden = !error;
}

function showConnection(online) {
  $("#connection").className = online ? "online" : "offline";
  $("#connection").textContent = online ? "online" : "reconnecting";
}

function button(label, onClick, current = false) {
  const item = document.createElement("li");
  const control = document.createElement("button");
  control.type = "button";
  control.textContent = label;
  control.setAttribute("aria-current", String(current));
  control.addEventListener("click", onClick);
  item.append(control);
  return item;
}

async function refreshChannels() {
  const [joined, joinable] = await Promise.all([
    kitty.listChannels(),
    kitty.listChannels({ filter: { joined: false } }),
  ]);
  if (!joined.succeeded) return showError("#chat-error", joined.error);
  const channels = joined.paginator.items;
  $("#channels").replaceChildren(
    ...channels.map((channel) =>
      button(`# ${channel.displayName || channel.name}`, () => openChannel(channel), channel.id === state.channel?.id),
    ),
  );
  const others = joinable.succeeded ? joinable.paginator.items : [];
  $("#joinable").replaceChildren(
    ...others.map((channel) => button(`+ ${channel.displayName || channel.name}`, () => joinChannel(channel))),
  );
  return channels;
}

async function joinChannel(channel) {
  const joined = await kitty.joinChannel({ channel });
  if (!joined.succeeded) return showError("#chat-error", joined.error);
  await refreshChannels();
  return openChannel(joined.channel);
}

function renderMessage(message) {
  if (state.shown.has(message.id)) return;
  state.shown.add(message.id);
  const item = document.createElement("li");
  item.dataset.id = message.id;
  const author = message.user ? message.user.displayName || message.user.name : "System";
  item.className = !message.user ? "system" : message.user.id === state.me.id ? "mine" : "theirs";
  const name = document.createElement("span");
  name.className = "author";
  name.textContent = author;
  const body = document.createElement("span");
  body.className = "body";
  body.textContent = message.body ?? (message.file ? `📎 ${message.file.name}` : "");
  item.append(name, body);
  const list = $("#messages");
  list.append(item);
  list.scrollTop = list.scrollHeight;
}

function renderTyping() {
  const names = [...state.typing.values()];
  $("#typing").textContent =
    names.length === 0 ? "" : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

async function openChannel(channel) {
  state.chat?.session.end();
  state.channel = channel;
  state.shown.clear();
  state.typing.clear();
  renderTyping();
  $("#channel-name").textContent = `# ${channel.displayName || channel.name}`;
  $("#messages").replaceChildren();
  state.chat = kitty.startChatSession({
    channel,
    onMessageReceived: (message) => {
      renderMessage(message);
      if (message.user) state.typing.delete(message.user.id);
      renderTyping();
    },
    onTypingStarted: (user) => {
      if (user.id !== state.me.id) state.typing.set(user.id, user.displayName || user.name);
      renderTyping();
    },
    onTypingStopped: (user) => {
      state.typing.delete(user.id);
      renderTyping();
    },
  });
  if (!state.chat.succeeded) return showError("#chat-error", state.chat.error);
  const history = await kitty.listMessages({ channel });
  if (history.succeeded) {
    [...history.paginator.items].sort((a, b) => a.id - b.id).forEach(renderMessage);
    const newest = history.paginator.items.reduce((a, b) => (a && a.id > b.id ? a : b), null);
    if (newest) kitty.readMessage({ message: newest });
  }
  $("#body").disabled = $("#send").disabled = false;
  $("#body").focus();
  return refreshChannels();
}

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#start").disabled = true;
  const started = await kitty.startSession({ username: $("#name").value.trim() });
  $("#start").disabled = false;
  if (!started.succeeded) return showError("#login-error", started.error);
  state.me = started.session.user;
  $("#me").textContent = state.me.displayName || state.me.name;
  $("#login").hidden = true;
  $("#chat").hidden = false;
  kitty.onCurrentUserOffline(() => showConnection(false));
  kitty.onCurrentUserOnline(() => showConnection(true));
  const channels = await refreshChannels();
  if (channels?.length) return openChannel(channels[0]);
  const joinable = (await kitty.listChannels({ filter: { joined: false } })).paginator?.items ?? [];
  const lobby = joinable.find((channel) => channel.name === "lobby") ?? joinable[0];
  if (lobby) return joinChannel(lobby);
});

$("#body").addEventListener("input", () => {
  if (state.channel && $("#body").value) kitty.sendKeystrokes({ channel: state.channel, keys: $("#body").value });
});

$("#composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = $("#body").value.trim();
  if (!body || !state.channel) return;
  $("#body").value = "";
  const sent = await kitty.sendMessage({ channel: state.channel, body });
  showError("#chat-error", sent.succeeded ? null : sent.error);
  if (sent.succeeded) renderMessage(sent.message);
});
