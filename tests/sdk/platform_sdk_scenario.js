// Every operation of the unmodified npm package chatkitty-platform-sdk@2.4.0 (except functions, runtime, imports and
// jobs), against a live Parley. Run by tests/sdk/test_sdks.py with PARLEY_URL, CLIENT_ID and CLIENT_SECRET set.
"use strict";
const assert = require("node:assert/strict");
const sdk = require("chatkitty-platform-sdk");
const { step, expectStatus, checkUser, checkPage, checkCursorPage } = require("./scenario");

const url = process.env.PARLEY_URL;
const kitty = new sdk.ChatKitty({
  clientId: process.env.CLIENT_ID,
  clientSecret: process.env.CLIENT_SECRET,
  basePath: url,
  authorizationBasePath: `${url}/oauth/token`,
});
const userSessions = new sdk.UserSessionsApi(kitty.Users.configuration);
const chatSessions = new sdk.ChatSessionsApi(kitty.Users.configuration);

async function main() {
  await step("application", async () => {
    const { data: app } = await kitty.Application.retrieveAuthenticatedApplication();
    assert.equal(app.key, process.env.CLIENT_ID);
    assert.equal(typeof app.id, "number");
    const { data: settings } = await kitty.Application.retrieveAuthenticatedApplicationSettings();
    assert.ok(["DISABLED", "ENABLED"].includes(settings.guestUsers));
    assert.ok(["DISABLED", "ENABLED"].includes(settings.userCreatedChannels));
    const { data: updated } = await kitty.Application.updateAuthenticatedApplicationSettings({
      guestUsers: "ENABLED",
      userCreatedChannels: "DISABLED",
    });
    assert.equal(updated.guestUsers, "ENABLED");
    assert.equal(updated.userCreatedChannels, "DISABLED");
  });

  const users = {};
  await step("users", async () => {
    for (const name of ["jane@example.com", "john@example.com", "mia@example.com"]) {
      const { data } = await kitty.Users.createUser({
        name,
        displayName: name.split("@")[0],
        isGuest: false,
        properties: { team: name.startsWith("j") ? "blue" : "red" },
      });
      checkUser(data);
      assert.equal(data.name, name);
      users[name.split("@")[0]] = data;
    }
    await expectStatus(409, kitty.Users.createUser({ name: "jane@example.com", displayName: "x", isGuest: false, properties: {} }));
    const exists = await kitty.Users.checkUserExists("jane@example.com");
    assert.equal(exists.status, 200);
    await expectStatus(404, kitty.Users.checkUserExists("nobody@example.com"));
    const { data: list } = await kitty.Users.listUsers(0, 2, ["name,desc"]);
    checkPage(list, "users", 3);
    assert.deepEqual(list._embedded.users.map((u) => u.name), ["mia@example.com", "john@example.com"]);
    const { data: byName } = await kitty.Users.listUsers(undefined, undefined, undefined, "john@example.com");
    assert.deepEqual(byName._embedded.users.map((u) => u.id), [users.john.id]);
    const { data: jane } = await kitty.Users.retrieveUser(users.jane.id);
    assert.equal(jane.displayName, "jane");
    const { data: patched } = await kitty.Users.updateUser(users.jane.id, { displayName: "Jane Doe", properties: { team: "green" } });
    assert.equal(patched.displayName, "Jane Doe");
    assert.deepEqual(patched.properties, { team: "green" });
    const { data: pictured } = await kitty.Users.updateUserDisplayPicture(users.jane.id, {
      url: "https://example.com/jane.png",
      name: "jane.png",
      contentType: "image/png",
      size: 1024,
    });
    assert.equal(pictured.displayPictureUrl, "https://example.com/jane.png");
    await expectStatus(404, kitty.Users.retrieveUser(999999999));
  });

  await step("secrets", async () => {
    const { data: owner } = await kitty.Users.setUserSecret(users.jane.id, "apiToken", { secret: { token: "s3cr3t" } });
    assert.equal(owner.id, users.jane.id, "setting a secret answers with the user");
    const { data: got } = await kitty.Users.retrieveUserSecret(users.jane.id, "apiToken");
    assert.deepEqual(got.secret, { token: "s3cr3t" });
    const { data: removedFrom } = await kitty.Users.removeUserSecret(users.jane.id, "apiToken");
    assert.equal(removedFrom.id, users.jane.id);
    await expectStatus(404, kitty.Users.retrieveUserSecret(users.jane.id, "apiToken"));
  });

  let channel;
  let direct;
  await step("channels", async () => {
    ({ data: channel } = await kitty.Channels.createChannel({
      type: "PUBLIC",
      name: "general",
      displayName: "General",
      creator: { username: "jane@example.com" },
      members: [{ id: users.john.id }],
      properties: { topic: "everything" },
    }));
    assert.equal(channel.type, "PUBLIC");
    assert.equal(channel.name, "general");
    assert.equal(channel.creator.id, users.jane.id);
    await expectStatus(409, kitty.Channels.createChannel({ type: "PUBLIC", name: "general" }));
    ({ data: direct } = await kitty.Channels.createChannel({
      type: "DIRECT",
      members: [{ username: "jane@example.com" }, { username: "mia@example.com" }],
    }));
    assert.equal(direct.type, "DIRECT");
    assert.equal(direct.members.length, 2);
    const { data: again } = await kitty.Channels.createChannel({
      type: "DIRECT",
      members: [{ id: users.mia.id }, { id: users.jane.id }],
    });
    assert.equal(again.id, direct.id, "the same members get the same direct channel");
    const { data: priv } = await kitty.Channels.createChannel({ type: "PRIVATE", name: "secret-plans" });
    assert.equal(priv.type, "PRIVATE");

    const { data: all } = await kitty.Channels.listChannels(0, 10);
    checkPage(all, "channels", 3);
    const { data: publics } = await kitty.Channels.listChannels(undefined, undefined, undefined, "PUBLIC");
    assert.deepEqual(publics._embedded.channels.map((c) => c.id), [channel.id]);
    const { data: withMia } = await kitty.Channels.listChannels(
      undefined, undefined, undefined, undefined, new Set(["mia@example.com", "jane@example.com"]),
    );
    assert.deepEqual(withMia._embedded.channels.map((c) => c.id), [direct.id]);
    const since = new Date(Date.now() - 3600_000).toISOString();
    const until = new Date(Date.now() + 3600_000).toISOString();
    const { data: inWindow } = await kitty.Channels.listChannels(
      undefined, undefined, ["createdTime,asc"], undefined, undefined, since, until, JSON.stringify({ topic: "everything" }),
    );
    assert.deepEqual(inWindow._embedded.channels.map((c) => c.id), [channel.id]);

    const { data: fetched } = await kitty.Channels.retrieveChannel(channel.id);
    assert.equal(fetched.displayName, "General");
    const { data: renamed } = await kitty.Channels.updateChannel(channel.id, { displayName: "All hands", properties: { topic: "news" } });
    assert.equal(renamed.displayName, "All hands");
    assert.deepEqual(renamed.properties, { topic: "news" });
    const { data: deleted } = await kitty.Channels.deleteChannel(priv.id);
    assert.equal(deleted.key, process.env.CLIENT_ID, "deleting a channel answers with the application");
    await expectStatus(404, kitty.Channels.retrieveChannel(priv.id));
  });

  await step("members and moderators", async () => {
    const { data: joined } = await kitty.Channels.addChannelMember(channel.id, { username: "mia@example.com" });
    assert.equal(joined.id, channel.id);
    const { data: members } = await kitty.Channels.listChannelMembers(channel.id, 0, 25, ["name,asc"]);
    checkPage(members, "users", 3);
    assert.deepEqual(members._embedded.users.map((u) => u.name), ["jane@example.com", "john@example.com", "mia@example.com"]);
    const { data: memberships } = await kitty.Channels.listChannelMemberships(channel.id);
    checkPage(memberships, "memberships", 3);
    const { data: moderator } = await kitty.Channels.addChannelModerator(channel.id, { id: users.john.id });
    assert.equal(moderator.id, users.john.id);
    const { data: moderators } = await kitty.Channels.listChannelModerators(channel.id, 0, 25, ["name,asc"]);
    assert.deepEqual(moderators._embedded.users.map((u) => u.id), [users.jane.id, users.john.id], "the creator moderates");
    await kitty.Channels.removeChannelModerator(channel.id, users.john.id);
    const { data: after } = await kitty.Channels.listChannelModerators(channel.id);
    assert.deepEqual(after._embedded.users.map((u) => u.id), [users.jane.id]);
    const { data: left } = await kitty.Channels.removeChannelMember(channel.id, users.mia.id);
    assert.equal(left.id, channel.id);
    const { data: participants } = await kitty.Channels.listChannelParticipants(channel.id);
    checkPage(participants, "users", 0);
    await expectStatus(404, kitty.Channels.addChannelMember(channel.id, { username: "nobody@example.com" }));
  });

  await step("invites, events, keystrokes", async () => {
    const priv = (await kitty.Channels.createChannel({ type: "PRIVATE", name: "invite-only" })).data;
    const { data: invite } = await kitty.Channels.sendChannelInvite(priv.id, { user: { username: "mia@example.com" } });
    assert.ok(invite.createdTime);
    const { data: invites } = await kitty.Channels.listChannelInvites(priv.id);
    checkPage(invites, "invites", 1);
    const { data: event } = await kitty.Channels.sendChannelEvent(channel.id, { type: "customer:waiting", properties: { minutes: 3 } });
    assert.equal(event.type, "customer:waiting");
    assert.deepEqual(event.properties, { minutes: 3 });
    const { data: keys } = await kitty.Channels.sendChannelKeystrokes(channel.id, { user: { username: "jane@example.com" }, keys: "Hel" });
    assert.equal(keys.keys, "Hel");
  });

  const sent = [];
  await step("messages", async () => {
    const { data: system } = await kitty.Channels.sendChannelMessage(channel.id, { type: "TEXT", body: "Welcome!" });
    assert.equal(system.type, "SYSTEM_TEXT");
    sent.push(system);
    for (let i = 0; i < 5; i++) {
      const { data } = await kitty.Channels.sendChannelMessage(channel.id, {
        type: "TEXT",
        body: `hello ${i}`,
        user: { username: i % 2 ? "john@example.com" : "jane@example.com" },
        groupTag: "greetings",
        properties: { n: i },
      });
      assert.equal(data.type, "TEXT");
      assert.equal(data.groupTag, "greetings");
      sent.push(data);
    }
    const { data: file } = await kitty.Channels.sendChannelMessage(channel.id, {
      type: "FILE",
      user: { id: users.jane.id },
      file: { url: "https://example.com/a.pdf", name: "a.pdf", contentType: "application/pdf", size: 2048 },
    });
    assert.equal(file.type, "FILE");
    assert.equal(file.file.contentType, "application/pdf");
    sent.push(file);
    await expectStatus(400, kitty.Channels.sendChannelMessage(channel.id, { type: "TEXT", body: "" }));

    const { data: first } = await kitty.Channels.listChannelMessages(channel.id, 3);
    checkCursorPage(first, "messages", 3);
    assert.deepEqual(first._embedded.messages.map((m) => m.id), sent.slice(-3).reverse().map((m) => m.id));
    const next = new URL(first._links.next.href);
    const { data: second } = await kitty.Channels.listChannelMessages(
      channel.id, 3, Number(next.searchParams.get("start")), Number(next.searchParams.get("next")), next.searchParams.get("relation"),
    );
    assert.deepEqual(second._embedded.messages.map((m) => m.id), sent.slice(-6, -3).reverse().map((m) => m.id));
    const { data: johns } = await kitty.Channels.listChannelMessages(channel.id, 25, undefined, undefined, undefined, "john@example.com");
    assert.deepEqual(johns._embedded.messages.map((m) => m.body), ["hello 3", "hello 1"]);
    const { data: found } = await kitty.Channels.listChannelMessages(channel.id, 25, undefined, undefined, undefined, undefined, "hello 4");
    assert.deepEqual(found._embedded.messages.map((m) => m.id), [sent[5].id]);

    const { data: everywhere } = await kitty.Messages.listMessages(25);
    checkCursorPage(everywhere, "messages", sent.length);
    const { data: one } = await kitty.Messages.retrieveMessage(sent[1].id);
    assert.equal(one.body, "hello 0");
    const { data: edited } = await kitty.Messages.updateMessage(sent[1].id, { body: "hello zero", properties: { edited: true } });
    assert.equal(edited.body, "hello zero");
    assert.ok(edited.lastEditedTime);
    const { data: receipts } = await kitty.Messages.listMessageReadReceipts(sent[1].id);
    checkPage(receipts, "receipts", 0);
  });

  await step("user views of messages", async () => {
    const { data: janes } = await kitty.Users.listUserMessages(users.jane.id, 25);
    checkCursorPage(janes, "messages", 4);
    const { data: unread } = await kitty.Users.listUserMessages(users.jane.id, 25, undefined, undefined, undefined, true);
    assert.deepEqual(unread._embedded.messages.map((m) => m.body).sort(), ["Welcome!", "hello 1", "hello 3"]);
    const { data: notes } = await kitty.Users.listUserNotifications(users.john.id, 25);
    checkCursorPage(notes, "notifications", 5);
    assert.deepEqual(
      [...new Set(notes._embedded.notifications.map((n) => n.data.type))].sort(),
      ["SYSTEM:SENT:MESSAGE", "USER:SENT:MESSAGE"],
    );
    const { data: channels } = await kitty.Users.listUserChannels(users.mia.id);
    assert.deepEqual(channels._embedded.channels.map((c) => c.id), [direct.id]);
  });

  await step("threads", async () => {
    const parent = sent[2];
    const { data: reply } = await kitty.Channels.sendChannelMessage(channel.id, {
      type: "TEXT", body: "first!", user: { username: "mia@example.com" },
    });
    assert.equal(reply.type, "TEXT", "a user joins a public channel by sending into it");
    const threadUrl = parent._links && parent._links.thread ? parent._links.thread.href : null;
    assert.ok(threadUrl);
    const mainThreadId = Number(threadUrl.split("/").pop());
    const { data: main } = await kitty.Threads.retrieveThread(mainThreadId);
    assert.equal(main.type, "MAIN");
    const { data: threadMessages } = await kitty.Threads.listThreadMessages(mainThreadId, 2);
    checkCursorPage(threadMessages, "messages", 2);
    const { data: threadReply } = await kitty.Threads.sendThreadMessage(mainThreadId, {
      type: "TEXT", body: "in the main thread", user: { id: users.john.id },
    });
    assert.equal(threadReply.channelId, channel.id);
    const { data: keys } = await kitty.Threads.sendThreadKeystrokes(mainThreadId, { user: { id: users.john.id }, keys: "typing" });
    assert.equal(keys.keys, "typing");
    await expectStatus(404, kitty.Threads.retrieveThread(999999999));
  });

  await step("sessions", async () => {
    const { data: us } = await userSessions.listUserSessions(0, 25, undefined, "ACTIVE");
    checkPage(us, "sessions", 0);
    const { data: cs } = await chatSessions.listChatSessions(0, 25, undefined, "ENDED");
    checkPage(cs, "sessions", 0);
  });

  await step("deletes", async () => {
    const { data: gone } = await kitty.Messages.deleteMessage(sent[0].id);
    assert.equal(gone.type, "MAIN", "deleting a message answers with its thread");
    await expectStatus(404, kitty.Messages.retrieveMessage(sent[0].id));
    const { data: app } = await kitty.Users.deleteUser(users.mia.id);
    assert.equal(app.key, process.env.CLIENT_ID);
    await expectStatus(404, kitty.Users.retrieveUser(users.mia.id));
    const { data: cleared } = await kitty.Messages.deleteMessages();
    assert.equal(cleared.key, process.env.CLIENT_ID);
    const { data: empty } = await kitty.Messages.listMessages();
    checkCursorPage(empty, "messages", 0);
  });

  console.log(JSON.stringify({ ok: true, steps: require("./scenario").completed }));
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
