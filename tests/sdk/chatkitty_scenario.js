// A smaller scenario with the newer npm client chatkitty@2.106.8, unmodified: snake_case request bodies, the vendor
// JSON media type, and the operations only it has. Run by tests/sdk/test_sdks.py like the platform-sdk scenario.
"use strict";
const assert = require("node:assert/strict");
const { ChatKitty } = require("chatkitty");
const { step, expectStatus, checkUser, checkPage, checkCursorPage, completed } = require("./scenario");

const url = process.env.PARLEY_URL;
const kitty = new ChatKitty({
  clientId: process.env.CLIENT_ID,
  clientSecret: process.env.CLIENT_SECRET,
  basePath: `${url}/v1`,
  authorizationBasePath: `${url}/oauth/token`,
});

async function main() {
  await step("application", async () => {
    const { data: app } = await kitty.ApplicationApi.retrieveApplication();
    assert.equal(app.key, process.env.CLIENT_ID);
    const { data: settings } = await kitty.ApplicationApi.updateApplicationSettings({
      guest_users: "DISABLED",
      user_created_channels: "ENABLED",
    });
    assert.equal(settings.guestUsers, "DISABLED");
    assert.equal(settings.userCreatedChannels, "ENABLED");
    const { data: again } = await kitty.ApplicationApi.retrieveApplicationSettings();
    assert.equal(again.userCreatedChannels, "ENABLED");
  });

  const users = {};
  await step("users", async () => {
    for (const name of ["ada", "bob", "cy"]) {
      const { data } = await kitty.UsersApi.createUser({
        name, display_name: name.toUpperCase(), is_guest: false, properties: { vip: name === "ada" },
      });
      checkUser(data);
      assert.equal(data.displayName, name.toUpperCase());
      users[name] = data;
    }
    const { data: patched } = await kitty.UsersApi.updateUser(users.cy.id, { display_name: "Cyrus" });
    assert.equal(patched.displayName, "Cyrus");
    const { data: vips } = await kitty.UsersApi.listUsers(0, 25, undefined, undefined, undefined, JSON.stringify({ vip: true }));
    assert.deepEqual(vips._embedded.users.map((u) => u.name), ["ada"]);
    const exists = await kitty.UsersApi.checkUserExists("bob");
    assert.equal(exists.status, 200);
  });

  let channel;
  const sent = [];
  await step("channel and messages", async () => {
    ({ data: channel } = await kitty.ChannelsApi.createChannel({
      type: "PUBLIC", name: "lobby", display_name: "Lobby", creator: { username: "ada" },
    }));
    assert.equal(channel.displayName, "Lobby");
    await kitty.ChannelsApi.addChannelMember(channel.id, { username: "bob" });
    await kitty.ChannelsApi.addChannelMember(channel.id, { id: users.cy.id });
    for (const [who, body] of [["ada", "hi all"], ["bob", "hey"], ["ada", "how are you?"]]) {
      const { data } = await kitty.ChannelsApi.sendChannelMessage(channel.id, {
        type: "TEXT", body, user: { username: who }, group_tag: "chat", properties: { lang: "en" },
      });
      assert.equal(data.groupTag, "chat");
      sent.push(data);
    }
    const { data: history } = await kitty.ChannelsApi.listChannelMessages(channel.id, 2);
    checkCursorPage(history, "messages", 2);
    assert.deepEqual(history._embedded.messages.map((m) => m.body), ["how are you?", "hey"]);
    const { data: edited } = await kitty.MessagesApi.updateMessage(sent[1].id, { body: "hey there" });
    assert.equal(edited.body, "hey there");
    const { data: reply } = await kitty.ThreadsApi.sendThreadMessage(Number(channel._links.thread.href.split("/").pop()), {
      type: "TEXT", body: "threaded", user: { username: "cy" },
    });
    assert.equal(reply.channelId, channel.id);
  });

  await step("unread state", async () => {
    const { data: count } = await kitty.UsersApi.countUserUnreadMessages(users.cy.id);
    assert.equal(count.count, 3);
    const { data: unreadUsers } = await kitty.UsersApi.listUsers(0, 25, ["name,asc"], undefined, true);
    assert.deepEqual(unreadUsers._embedded.users.map((u) => u.name), ["ada", "bob", "cy"]);
    const { data: unread } = await kitty.UsersApi.listUserMessages(users.bob.id, 25, undefined, undefined, undefined, true);
    assert.deepEqual(unread._embedded.messages.map((m) => m.body), ["threaded", "how are you?", "hi all"]);
    const { data: summaries } = await kitty.ApplicationApi.retrieveApplicationMessageReadReceiptSummaries({
      page: 0, size: 10, sort: ["count,desc"],
    });
    checkPage(summaries, "summaries", 3);
    const top = summaries._embedded.summaries[0];
    assert.equal(top.count, 3);
    assert.equal(top.channel.id, channel.id);
    const { data: reported } = await kitty.ChannelsApi.listChannelReportedMessages(channel.id);
    checkPage(reported, "messages", 0);
    const { data: receipts } = await kitty.MessagesApi.listMessageReadReceipts(sent[0].id);
    checkPage(receipts, "receipts", 0);
  });

  await step("errors", async () => {
    await expectStatus(409, kitty.UsersApi.createUser({ name: "ada", display_name: "again", is_guest: false, properties: {} }));
    await expectStatus(400, kitty.ChannelsApi.sendChannelMessage(channel.id, { type: "TEXT", body: " " }));
    await expectStatus(404, kitty.ChannelsApi.retrieveChannel(987654321));
  });

  await step("cleanup", async () => {
    const { data: thread } = await kitty.MessagesApi.deleteMessage(sent[2].id);
    assert.equal(thread.type, "MAIN");
    const { data: app } = await kitty.ChannelsApi.deleteChannel(channel.id);
    assert.equal(app.key, process.env.CLIENT_ID);
    const { data: sessions } = await kitty.UserSessionsApi.listUserSessions();
    checkPage(sessions, "sessions", 0);
    const { data: chats } = await kitty.ChatSessionsApi.listChatSessions();
    checkPage(chats, "sessions", 0);
  });

  console.log(JSON.stringify({ ok: true, steps: completed }));
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
